import { Module } from '@nestjs/common';
import { createSecretKey } from 'node:crypto';
import { ConfigType } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { AuditModule } from '../audit/audit.module';
import { appConfig } from '../config/configuration';
import { MetricsModule } from '../metrics/metrics.module';
import { RateLimitGuard } from '../rate-limit/rate-limit.guard';
import { RateLimitModule } from '../rate-limit/rate-limit.module';
import { JwtAuthGuard } from './jwt-auth.guard';
import { jwtVerifyOptions } from './jwt-policy';

@Module({
  imports: [
    AuditModule,
    MetricsModule,
    RateLimitModule,
    JwtModule.registerAsync({
      inject: [appConfig.KEY],
      useFactory: (app: ConfigType<typeof appConfig>) => ({
        // A KeyObject, not a string: jsonwebtoken otherwise tries the string as a PEM public key on every verify
        // (about 350 µs per request) before treating it as an HMAC secret.
        secret: createSecretKey(Buffer.from(app.jwtSecret, 'utf8')) as unknown as string,
        // Whatever this service signs passes its own guard: iss and aud when they are required.
        signOptions: {
          algorithm: 'HS256',
          expiresIn: Math.min(3_600, app.jwtMaxAgeSeconds),
          ...(app.jwtIssuer ? { issuer: app.jwtIssuer } : {}),
          ...(app.jwtAudience ? { audience: app.jwtAudience } : {}),
        },
        // The guard passes the same options (and checks the token's lifetime); these hold for any other verify.
        verifyOptions: jwtVerifyOptions({ maxAgeSeconds: app.jwtMaxAgeSeconds, issuer: app.jwtIssuer, audience: app.jwtAudience }),
      }),
    }),
  ],
  providers: [
    JwtAuthGuard,
    // Nest runs global guards in the order they are provided: the rate limits come second so that they count an
    // authenticated request against its verified JWT subject.
    { provide: APP_GUARD, useExisting: JwtAuthGuard },
    { provide: APP_GUARD, useClass: RateLimitGuard },
  ],
  exports: [JwtModule, JwtAuthGuard],
})
export class AuthModule {}
