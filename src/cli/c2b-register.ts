import 'dotenv/config';
import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import Redis from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { AuditModule } from '../audit/audit.module';
import { C2bRegistrationService } from '../c2b/c2b-registration.service';
import { CallbackUrls } from '../callbacks/callback-urls';
import { CryptoModule } from '../common/crypto/crypto.module';
import { AppError } from '../common/errors/app-error';
import { REDIS_CLIENT, RedisModule } from '../common/redis/redis.module';
import { ALL_CONFIG_NAMESPACES, loadConfig } from '../config/configuration';
import { ConfigValidationError } from '../config/env.validation';
import { dataSourceOptions } from '../database/data-source';
import { MpesaModule } from '../mpesa/mpesa.module';

// `npm run c2b:register`: registers MPESA_C2B_VALIDATION_URL and MPESA_C2B_CONFIRMATION_URL (with their tokens) for
// MPESA_C2B_SHORTCODE, like POST /api/mpesa/c2b/register, and audits it. Exits 0 when registered, 2 when M-Pesa says
// URLs are already registered (with what to do), 1 otherwise. With the simulator, the app must be running (it is Daraja).

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: ALL_CONFIG_NAMESPACES }),
    RedisModule,
    CryptoModule,
    TypeOrmModule.forRoot({ ...dataSourceOptions(), autoLoadEntities: true, migrationsRun: false }),
    AuditModule,
    MpesaModule,
  ],
  providers: [CallbackUrls, C2bRegistrationService],
})
class C2bRegisterCliModule {}

async function main(): Promise<number> {
  const config = loadConfig();
  const app = await NestFactory.createApplicationContext(C2bRegisterCliModule, { logger: ['error'] });
  app.get<Redis>(REDIS_CLIENT).on('error', () => undefined);
  try {
    const { c2b } = config.mpesa;
    console.log(
      `Registering C2B URLs for shortcode ${c2b.shortCode} (MPESA_ENVIRONMENT=${config.mpesa.environment}, ResponseType ${c2b.responseType})`,
    );
    const done = await app.get(C2bRegistrationService).register({ type: 'system', id: 'cli:c2b-register' });
    console.log(`Registered: ${done.responseDescription || 'Success'}`);
    console.log(`  ValidationURL   ${done.validationUrl}`);
    console.log(`  ConfirmationURL ${done.confirmationUrl}`);
    return 0;
  } catch (error) {
    if (error instanceof AppError) {
      console.error(error.message);
      if (error.details?.mpesaMessage) console.error(`(M-Pesa said: ${String(error.details.mpesaMessage)})`);
      return error.details?.reason === 'already_registered' ? 2 : 1;
    }
    throw error;
  } finally {
    await Promise.race([app.close(), sleep(3_000)]);
  }
}

main()
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    console.error(error instanceof ConfigValidationError || error instanceof Error ? error.message : error);
    process.exit(1);
  });
