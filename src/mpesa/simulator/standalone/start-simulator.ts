import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Config } from '../../../config/configuration';
import { SIMULATOR_INITIATOR_NAME, SIMULATOR_INITIATOR_PASSWORD } from '../../../config/configuration';
import { PrivateRedis, startPrivateRedis } from './private-redis';
import type { SimulatorIdentity } from './simulator-page';
import { SimulatorStandaloneModule } from './simulator-standalone.module';

/** The first segment of every Daraja path, as at https://sandbox.safaricom.co.ke. */
const DARAJA_ROOTS = /^\/(oauth|mpesa|pulltransactions)(\/|\?|$)/;

/**
 * Daraja's root paths are served by the embedded simulator's controllers under `/simulator/daraja`: the request is
 * rewritten before routing, so one set of routes answers both, and `/simulator/control` and `/` stay as they are.
 */
export function darajaRootRewrite(url: string): string {
  return DARAJA_ROOTS.test(url) ? `/simulator/daraja${url}` : url;
}

/**
 * MODE=simulator: the Daraja simulator alone on SIMULATOR_HOST:SIMULATOR_PORT at Safaricom's root paths, with its own
 * storage (SIMULATOR_REDIS_URL, else a private in-memory redis-server) and no Postgres. Prints what a client needs.
 */
export async function startStandaloneSimulator(config: Config): Promise<void> {
  const logger = new Logger('Simulator');
  let privateRedis: PrivateRedis | undefined;
  if (!config.simulator.redis.url) {
    privateRedis = await startPrivateRedis();
    config.simulator.redis.url = privateRedis.url;
  }
  const { host, port } = config.simulator;
  const baseUrl = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}${port === 80 ? '' : `:${port}`}`;
  const identity: SimulatorIdentity = {
    baseUrl,
    consumerKey: config.mpesa.consumerKey,
    consumerSecret: config.mpesa.consumerSecret,
    shortcode: config.mpesa.shortcode,
    passkey: config.mpesa.passkey,
    initiatorName: config.mpesa.initiatorName ?? SIMULATOR_INITIATOR_NAME,
    initiatorPassword: config.mpesa.initiatorPassword ?? SIMULATOR_INITIATOR_PASSWORD,
    certificatePath: config.mpesa.certificatePath,
    timestampMode: config.simulator.timestamp,
    storage: privateRedis
      ? 'in memory (a private redis-server, lost when the simulator stops)'
      : `Redis ${redactedUrl(config.simulator.redis.url)}`,
  };

  const adapter = new FastifyAdapter({ bodyLimit: 256 * 1024, rewriteUrl: (req: { url?: string }) => darajaRootRewrite(req.url ?? '/') });
  const app = await NestFactory.create<NestFastifyApplication>(SimulatorStandaloneModule.forRoot(config, identity), adapter, {
    logger: ['log', 'warn', 'error'],
  });
  app.enableShutdownHooks();
  const stopRedis = () => privateRedis?.stop();
  process.once('exit', stopRedis);
  await app.listen(port, host);
  logger.log(`listening on ${host}:${port}`);
  // Plain stdout, whatever the log level: this is what a developer copies into their client.
  console.log(
    [
      'Daraja simulator ready',
      `  Base URL:             ${identity.baseUrl}   (e.g. ${identity.baseUrl}/oauth/v1/generate?grant_type=client_credentials)`,
      `  Consumer key:         ${identity.consumerKey}`,
      `  Consumer secret:      ${identity.consumerSecret}`,
      `  Shortcode:            ${identity.shortcode}`,
      `  Passkey:              ${identity.passkey}`,
      `  Initiator:            ${identity.initiatorName} / ${identity.initiatorPassword}`,
      `  SecurityCredential:   encrypt the initiator password with ${identity.certificatePath} (RSA PKCS#1 v1.5, base64)`,
      `  Timestamp check:      ${identity.timestampMode}`,
      `  Storage:              ${identity.storage}`,
      `  Page:                 ${identity.baseUrl}/   Control API: ${identity.baseUrl}/simulator/control`,
    ].join('\n'),
  );
}

function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<invalid url>';
  }
}
