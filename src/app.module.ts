import { BullModule } from '@nestjs/bullmq';
import { DynamicModule, Module } from '@nestjs/common';
import { ConfigModule, ConfigType } from '@nestjs/config';
import { APP_FILTER } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { LoggerModule } from 'nestjs-pino';
import { AlertsModule } from './alerts/alerts.module';
import { AuthModule } from './auth/auth.module';
import { BillsModule } from './bills/bills.module';
import { C2bModule } from './c2b/c2b.module';
import { CryptoModule } from './common/crypto/crypto.module';
import { AppErrorFilter } from './common/errors/app-error.filter';
import { loggerOptions } from './common/logging';
import { reconnectDelay, RedisModule } from './common/redis/redis.module';
import { ALL_CONFIG_NAMESPACES, Config, redisConfig } from './config/configuration';
import { dataSourceOptions } from './database/data-source';
import { HealthModule } from './health/health.module';
import { MetricsModule } from './metrics/metrics.module';
import { DarajaSimulatorModule } from './mpesa/simulator/simulator.module';
import { PaymentsModule } from './payments/payments.module';
import { PayoutsModule } from './payouts/payouts.module';
import { PreflightModule } from './preflight/preflight.module';
import { PrivacyModule } from './privacy/privacy.module';
import { QueuesDashboardModule } from './queues-dashboard/queues-dashboard.module';
import { ReconciliationModule } from './reconciliation/reconciliation.module';
import { TreasuryModule } from './treasury/treasury.module';

@Module({})
export class AppModule {
  /** Composes the service for one process: MODE decides whether BullMQ workers (processors, schedulers) run here. */
  static forRoot(config: Config): DynamicModule {
    const workers = { runWorkers: config.app.mode !== 'api' };
    return {
      module: AppModule,
      imports: [
        // Global: settings, Redis and field encryption are what every module needs; everything else is imported.
        ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: ALL_CONFIG_NAMESPACES }),
        RedisModule,
        CryptoModule,
        LoggerModule.forRoot(loggerOptions(config.app.logLevel, config.app.logFlushIntervalMs)),
        // Entities come from the modules that own them (TypeOrmModule.forFeature).
        TypeOrmModule.forRoot({ ...dataSourceOptions(), autoLoadEntities: true, migrationsRun: false }),
        BullModule.forRootAsync({
          inject: [redisConfig.KEY],
          useFactory: (redis: ConfigType<typeof redisConfig>) => ({
            // maxRetriesPerRequest null is BullMQ's requirement for its blocking commands (so no command timeout here);
            // the capped reconnect delay lets workers resume within a second of Redis coming back.
            connection: { url: redis.url, maxRetriesPerRequest: null, retryStrategy: reconnectDelay },
            prefix: `${redis.keyPrefix}:bull`,
          }),
        }),
        MetricsModule,
        PreflightModule,
        AuthModule,
        PaymentsModule.register(workers),
        BillsModule.register(workers),
        C2bModule.register(workers),
        PayoutsModule.register(workers),
        TreasuryModule.register(workers),
        ReconciliationModule.register(workers),
        AlertsModule.register(workers),
        PrivacyModule.register(workers),
        HealthModule,
        ...(config.simulator.enabled ? [DarajaSimulatorModule] : []),
        // bull-board at /admin/queues needs HTTP, which MODE=worker does not have.
        ...(config.app.mode !== 'worker' ? [QueuesDashboardModule] : []),
      ],
      providers: [{ provide: APP_FILTER, useClass: AppErrorFilter }],
    };
  }
}
