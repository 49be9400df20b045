import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigType } from '@nestjs/config';
import { APP_FILTER } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import { AlertsModule } from './alerts/alerts.module';
import { AuditModule } from './audit/audit.module';
import { AuthModule } from './auth/auth.module';
import { CallbacksModule } from './common/callbacks.module';
import { CryptoModule } from './common/crypto/crypto.module';
import { AppErrorFilter } from './common/errors/app-error.filter';
import { RedisModule } from './common/redis/redis.module';
import { ALL_CONFIG_NAMESPACES, Config, redisConfig } from './config/configuration';
import { dataSourceOptions } from './database/data-source';
import { HealthModule } from './health/health.module';
import { DarajaCallMetricsObserver } from './metrics/daraja-call-metrics.observer';
import { MetricsModule } from './metrics/metrics.module';
import { MpesaModule } from './mpesa/mpesa.module';
import { DarajaSimulatorModule } from './mpesa/simulator/simulator.module';
import { PaymentsModule } from './payments/payments.module';
import { PreflightModule } from './preflight/preflight.module';
import { QueuesDashboardModule } from './queues-dashboard/queues-dashboard.module';
import { PrivacyModule } from './privacy/privacy.module';
import { TreasuryModule } from './treasury/treasury.module';
import { loggerOptions } from './common/logging';

@Module({})
export class AppModule {
  /** Composes the service for one process: MODE decides whether BullMQ workers run here. */
  static forRoot(config: Config): DynamicModule {
    const runWorkers = config.app.mode !== 'api';
    return {
      module: AppModule,
      imports: [
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: ALL_CONFIG_NAMESPACES }),
        LoggerModule.forRoot(loggerOptions(config.app.logLevel)),
        TypeOrmModule.forRoot({ ...dataSourceOptions(), migrationsRun: false }),
        BullModule.forRootAsync({
          inject: [redisConfig.KEY],
          useFactory: (redis: ConfigType<typeof redisConfig>) => ({
            connection: { url: redis.url, maxRetriesPerRequest: null },
            prefix: `${redis.keyPrefix}:bull`,
          }),
        }),
        RedisModule,
        CryptoModule,
        CallbacksModule,
        AuditModule,
        MetricsModule,
        // Every Daraja call is counted for Prometheus, then written to the transaction log.
        MpesaModule.forRoot({ imports: [AuditModule], callObserver: DarajaCallMetricsObserver }),
        PreflightModule,
        AuthModule,
        PaymentsModule.register({ runWorkers }),
        TreasuryModule,
        AlertsModule.register({ runWorkers }),
        PrivacyModule.register({ runWorkers }),
        HealthModule,
        ...(config.simulator.enabled ? [DarajaSimulatorModule] : []),
        // bull-board at /admin/queues needs HTTP, which MODE=worker does not have.
        ...(config.app.mode !== 'worker' ? [QueuesDashboardModule] : []),
      ],
      providers: [{ provide: APP_FILTER, useClass: AppErrorFilter }],
    };
  }
}
