import 'dotenv/config';
import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { CryptoModule } from '../common/crypto/crypto.module';
import { ALL_CONFIG_NAMESPACES } from '../config/configuration';
import { ConfigValidationError } from '../config/env.validation';
import { cliDataSourceOptions } from '../database/data-source';
import { RetentionCliModule } from '../privacy/privacy.module';
import { ReconciliationPersonalDataModule } from '../reconciliation/reports/reconciliation-personal-data';
import { RETENTION_CLI_ACTOR, RetentionService } from '../privacy/retention.service';

// `npm run retention`: one retention sweep now (the worker runs it daily), then prints the counts as JSON.
// Safe next to a running fleet: the sweep is idempotent and skips rows another run holds.

@Module({
  imports: [
    ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: ALL_CONFIG_NAMESPACES }),
    TypeOrmModule.forRoot({ ...cliDataSourceOptions(), migrationsRun: false }),
    CryptoModule,
    RetentionCliModule,
    ReconciliationPersonalDataModule,
  ],
})
class RetentionCommandModule {}

async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(RetentionCommandModule, { logger: ['error', 'warn'] });
  try {
    const report = await app.get(RetentionService).run(RETENTION_CLI_ACTOR);
    console.log(JSON.stringify(report));
  } finally {
    await app.close();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigValidationError || error instanceof Error ? error.message : error);
  process.exit(1);
});
