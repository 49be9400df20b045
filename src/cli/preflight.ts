import 'dotenv/config';
import { Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { setTimeout as sleep } from 'node:timers/promises';
import { CryptoModule } from '../common/crypto/crypto.module';
import Redis from 'ioredis';
import { REDIS_CLIENT, RedisModule } from '../common/redis/redis.module';
import { ALL_CONFIG_NAMESPACES, loadConfig } from '../config/configuration';
import { ConfigValidationError } from '../config/env.validation';
import { DarajaAuthService } from '../mpesa/daraja-auth.service';
import { PreflightFinding } from '../preflight/preflight-checks';
import { PreflightService } from '../preflight/preflight.service';

// `npm run preflight`: checks the Daraja settings and says what to fix; exits 1 when there are errors.
// Reads Redis for the clock skew recorded by the app's last token fetch; never fetches a token itself.

@Module({
  imports: [ConfigModule.forRoot({ isGlobal: true, ignoreEnvFile: true, load: ALL_CONFIG_NAMESPACES }), RedisModule, CryptoModule],
  providers: [DarajaAuthService, PreflightService],
})
class PreflightCliModule {}

const print = (label: string, findings: PreflightFinding[]) => {
  for (const f of findings) console.log(`${label} [${f.check}] ${f.message}`);
};

async function main(): Promise<number> {
  const config = loadConfig();
  const app = await NestFactory.createApplicationContext(PreflightCliModule, { logger: ['error'] });
  // An unreachable Redis is reported as a finding; ioredis's own error events would only repeat it.
  app.get<Redis>(REDIS_CLIENT).on('error', () => undefined);
  try {
    const report = await app.get(PreflightService).run();
    console.log(`Daraja preflight: MPESA_ENVIRONMENT=${config.mpesa.environment}, base URL ${config.mpesa.baseUrl}`);
    print('ERROR  ', report.errors);
    print(
      'WARNING',
      config.warnings.map((message) => ({ check: 'config', message })),
    );
    print('WARNING', report.warnings);
    print('INFO   ', report.info);
    console.log(`${report.errors.length} error(s), ${report.warnings.length + config.warnings.length} warning(s)`);
    return report.errors.length > 0 ? 1 : 0;
  } finally {
    // An unreachable Redis must not keep the command hanging on close.
    await Promise.race([app.close(), sleep(3_000)]);
  }
}

main()
  .then((code) => process.exit(code))
  .catch((error: unknown) => {
    console.error(error instanceof ConfigValidationError || error instanceof Error ? error.message : error);
    process.exit(1);
  });
