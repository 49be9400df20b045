import 'dotenv/config';
import { INestApplicationContext, Logger, ValidationPipe, ValidationError as ClassValidatorError } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { Logger as PinoLogger } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import { AppModule } from './app.module';
import { isApiClusterPrimary, runApiCluster } from './common/api-cluster';
import { CallbackGate } from './callbacks/callback-gate';
import { ValidationError } from './common/errors/app-error';
import { isUsableRequestId, requestContextHook } from './common/request-context';
import { Config, loadConfig } from './config/configuration';
import { ConfigValidationError } from './config/env.validation';
import { startStandaloneSimulator } from './mpesa/simulator/standalone/start-simulator';
import { PreflightFailedError, PreflightService } from './preflight/preflight.service';
import { protectQueuesDashboard } from './queues-dashboard/queues-dashboard.auth';

function flattenValidationErrors(errors: ClassValidatorError[], parent = ''): string[] {
  return errors.flatMap((e) => {
    const path = parent ? `${parent}.${e.property}` : e.property;
    return [...Object.values(e.constraints ?? {}), ...flattenValidationErrors(e.children ?? [], path)];
  });
}

export const validationPipe = new ValidationPipe({
  whitelist: true,
  forbidNonWhitelisted: true,
  transform: true,
  exceptionFactory: (errors) => {
    const messages = flattenValidationErrors(errors);
    return new ValidationError(messages.join('; '), { errors: messages });
  },
});

async function startApi(config: Config): Promise<void> {
  const adapter = new FastifyAdapter({
    trustProxy: config.app.trustedProxies.length > 0 ? config.app.trustedProxies : false,
    bodyLimit: 256 * 1024,
    // No requestIdHeader: Fastify would take the header as it is; genReqId validates it (it is logged and stored).
    requestIdHeader: false,
    genReqId: (req: { headers: Record<string, string | string[] | undefined> }) => {
      const given = req.headers['x-request-id'];
      return isUsableRequestId(given) ? given : randomUUID();
    },
  });
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.forRoot(config), adapter, { bufferLogs: true });
  app.useLogger(app.get(PinoLogger));
  app.useGlobalPipes(validationPipe);
  app.enableShutdownHooks();
  app
    .getHttpAdapter()
    .getInstance()
    // Files everything the request does (logs, Daraja calls, audit events, jobs) under its id.
    .addHook('onRequest', requestContextHook)
    .addHook('onSend', async (request, reply) => {
      void reply.header('x-request-id', request.id);
    });
  // Before listen(): bull-board adds its routes while the app initialises, and each one must get the admin check.
  protectQueuesDashboard(app);
  // Forged callbacks are refused before their body is read (src/callbacks/callback-gate.ts).
  app.get(CallbackGate).register(app);

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('LegalPro Payments')
      .setDescription('M-Pesa (Daraja) payments for LegalPro: STK Push, status, callbacks.')
      .setVersion('1.0')
      .addBearerAuth()
      .build(),
  );
  SwaggerModule.setup('docs', app, document, { jsonDocumentUrl: 'docs-json' });

  await assertPreflight(app);
  await app.listen(config.app.port, config.app.host);
  const logger = new Logger('Bootstrap');
  for (const warning of config.warnings) logger.warn(warning);
  const base = `http://127.0.0.1:${config.app.port}`;
  logger.log(`MODE=${config.app.mode} MPESA_ENVIRONMENT=${config.mpesa.environment} listening on ${config.app.host}:${config.app.port}`);
  if (config.simulator.enabled) logger.log(`Embedded Daraja simulator at ${base}/simulator/daraja`);
  // Plain stdout so `npm start` always shows where to go, whatever LOG_LEVEL is.
  console.log(`Swagger UI: ${base}/docs  (OpenAPI JSON: ${base}/docs-json)`);
}

async function startWorker(config: Config): Promise<void> {
  const app = await NestFactory.createApplicationContext(AppModule.forRoot(config), { bufferLogs: true });
  app.useLogger(app.get(PinoLogger));
  // Shutdown hooks close the BullMQ workers, which wait for active jobs to finish.
  app.enableShutdownHooks();
  await assertPreflight(app);
  for (const warning of config.warnings) new Logger('Bootstrap').warn(warning);
  new Logger('Bootstrap').log(`MODE=worker MPESA_ENVIRONMENT=${config.mpesa.environment}: processing queues`);
}

/** Daraja settings that integrations most often get wrong: errors stop a production start, the rest is logged once. */
async function assertPreflight(app: INestApplicationContext): Promise<void> {
  try {
    await app.get(PreflightService).assertReady();
  } catch (error) {
    if (error instanceof PreflightFailedError) {
      console.error(error.message);
      await app.close();
      process.exit(1);
    }
    throw error;
  }
}

async function bootstrap(): Promise<void> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  if (config.app.mode === 'worker') await startWorker(config);
  else if (config.app.mode === 'simulator') await startStandaloneSimulator(config);
  else if (isApiClusterPrimary(config.app.apiProcesses)) runApiCluster(config.app.apiProcesses);
  else await startApi(config);
}

void bootstrap();
