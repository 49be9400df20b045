import { Module } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { APP_GUARD } from '@nestjs/core';
import { JwtModule } from '@nestjs/jwt';
import { AuditModule } from '../audit/audit.module';
import { appConfig } from '../config/configuration';
import { JwtAuthGuard } from './jwt-auth.guard';

@Module({
  imports: [
    AuditModule,
    JwtModule.registerAsync({
      inject: [appConfig.KEY],
      useFactory: (app: ConfigType<typeof appConfig>) => ({
        secret: app.jwtSecret,
        signOptions: { algorithm: 'HS256', expiresIn: '1h' },
        verifyOptions: { algorithms: ['HS256'] },
      }),
    }),
  ],
  providers: [{ provide: APP_GUARD, useClass: JwtAuthGuard }],
  exports: [JwtModule],
})
export class AuthModule {}
