// One deployment for a fault or model test file: a fresh database on the suite's own Postgres, a Redis key prefix on
// its own Redis, one API process (MODE=api, with the embedded simulator) and two worker processes (MODE=worker), all
// from dist/. Processes are shared by the tests of a file; a test kills or restarts only what its fault breaks.
//
//   const fleet = await FaultFleet.start('redis');
//   afterAll(() => fleet.stop());
//   await fleet.workers[0].kill('SIGKILL'); await fleet.workers[0].start();
//
// The helpers of test/support/app.ts and factories.ts (api, sim, tokenFor, db, pushStk...) talk to this fleet: start()
// writes an e2e state file naming its API and points LEGALPRO_E2E_STATE at it.
import { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { closeDb } from './app';
import { HEALTH_PATH, runMigrations, startApp, tail, waitForHealthy } from './app-process';
import { E2eState, STATE_ENV_VAR, writeState } from './e2e-state';
import {
  FAULT_ADMIN_DATABASE_URL,
  FAULT_DATA_DIR,
  FAULT_REDIS_URL,
  FAULT_SIM_REDIS_URL,
  simulatorRedisSupported,
  startPostgres,
  startRedis,
} from './fault-servers';
import { createDatabase, deleteRedisKeys, dropDatabase, freePorts, isAlive } from './resources';
import { childEnv, testEnvOverrides, withDatabase } from './test-env';
import { WebhookReceiver } from './webhook-receiver';

export const FAULT_LOG_DIR = join(FAULT_DATA_DIR, 'logs');
const WORKER_READY_LINE = 'MODE=worker';
const START_TIMEOUT_MS = 60_000;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The e2e settings (test-env.ts: Daraja's HTTP timeout 2.5 s, sweeps every second, payments given up after 12 s) with
 * the suite's changes: rate limits out of the way of load from one IP, and the simulator's own Redis when the app
 * supports one.
 */
export function faultEnvOverrides(): Record<string, string> {
  return {
    RATE_LIMIT_CLIENT_PER_MINUTE: '1000000',
    RATE_LIMIT_IP_PER_MINUTE: '1000000',
    // The simulator's phone lists answer "pushes per payment": keep them across the app's restarts and flushes.
    ...(simulatorRedisSupported() ? { SIMULATOR_REDIS_URL: FAULT_SIM_REDIS_URL } : {}),
  };
}

/** One `node dist/src/main.js` of the fleet; start() and kill() may be called again and again. */
export class FleetProcess {
  child: ChildProcess | undefined;
  private started = 0;

  constructor(
    readonly name: string,
    readonly env: Record<string, string>,
    readonly logFile: string,
  ) {}

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  get url(): string {
    return `http://127.0.0.1:${this.env.PORT}`;
  }

  /** Starts the process and waits until it serves (API: /health/live answers; worker: it logged its start). */
  async start(): Promise<number> {
    if (this.running) throw new Error(`${this.name} is already running (pid ${this.child?.pid})`);
    const t0 = Date.now();
    const offset = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
    this.child = startApp(childEnv(this.env), this.logFile);
    this.started += 1;
    if (this.env.MODE === 'worker') await this.waitForLogLine(WORKER_READY_LINE, offset);
    else await waitForHealthy(this.child, `${this.url}${HEALTH_PATH}`, this.logFile);
    return Date.now() - t0;
  }

  /** Sends `signal` and waits for the exit (SIGTERM: the graceful shutdown; SIGKILL after `graceMs`). */
  async kill(signal: NodeJS.Signals = 'SIGKILL', graceMs = 20_000): Promise<number> {
    const child = this.child;
    if (!child || !this.running) return 0;
    const t0 = Date.now();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), graceMs);
    });
    try {
      if ((await Promise.race([exited.then(() => 'exited' as const), late])) === 'late') {
        child.kill('SIGKILL');
        await exited;
      }
    } finally {
      clearTimeout(timer);
    }
    return Date.now() - t0;
  }

  /** The process's exit as `code N` or the signal's name, once it exited. */
  get exit(): string | undefined {
    if (!this.child || this.running) return undefined;
    return this.child.exitCode !== null ? `code ${this.child.exitCode}` : (this.child.signalCode ?? undefined);
  }

  private async waitForLogLine(line: string, offset: number): Promise<void> {
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`${this.name} exited (${this.exit}) while starting:\n${tail(this.logFile)}`);
      if (existsSync(this.logFile) && readFileSync(this.logFile).subarray(offset).toString('utf8').includes(line)) return;
      await sleep(100);
    }
    throw new Error(`${this.name} did not log "${line}" within ${START_TIMEOUT_MS / 1000} s:\n${tail(this.logFile)}`);
  }
}

export interface FleetOptions {
  /** Variables on top of the e2e and fault settings, for every process. */
  overrides?: Record<string, string>;
  workers?: number;
}

export class FaultFleet {
  private constructor(
    readonly name: string,
    readonly database: string,
    readonly databaseUrl: string,
    readonly redisKeyPrefix: string,
    readonly env: Record<string, string>,
    readonly api: FleetProcess,
    readonly workers: FleetProcess[],
    readonly hooks: WebhookReceiver,
    private readonly stateFile: string,
  ) {}

  get url(): string {
    return this.api.url;
  }

  get processes(): FleetProcess[] {
    return [this.api, ...this.workers];
  }

  static async start(name: string, options: FleetOptions = {}): Promise<FaultFleet> {
    const t0 = Date.now();
    const suffix = randomBytes(4).toString('hex');
    const database = `legalpro_fault_${process.pid}_${suffix}`;
    const redisKeyPrefix = `lpfault${process.pid}x${suffix}`;
    // Whatever an earlier file on this worker's servers left down (a test that failed before bringing Redis back).
    startPostgres();
    startRedis('simulator');
    await createDatabase(FAULT_ADMIN_DATABASE_URL, database);
    const databaseUrl = withDatabase(FAULT_ADMIN_DATABASE_URL, database);
    const [apiPort, webhookPort] = await freePorts(2);
    const env = {
      ...testEnvOverrides({ port: apiPort, webhookPort, databaseUrl, redisUrl: FAULT_REDIS_URL, redisKeyPrefix }),
      ...faultEnvOverrides(),
      ...options.overrides,
    };
    mkdirSync(FAULT_LOG_DIR, { recursive: true });
    const log = (who: string) => join(FAULT_LOG_DIR, `${name}-${suffix}-${who}.log`);
    runMigrations(childEnv(env), log('migrate'), 'faults');
    const hooks = await WebhookReceiver.start(webhookPort);
    const api = new FleetProcess(`${name} api`, { ...env, MODE: 'api', PORT: String(apiPort) }, log('api'));
    const workerPorts = await freePorts(options.workers ?? 2);
    const workers = workerPorts.map(
      (port, i) =>
        // A worker serves only its metrics (METRICS_PORT, 9464 by default: two workers of one box need two). Its PORT
        // is the API's: the default Daraja base URL (the simulator) and callback URLs are derived from it. `info` logs
        // the start line that tells the worker is processing.
        new FleetProcess(
          `${name} worker${i + 1}`,
          { ...env, MODE: 'worker', PORT: String(apiPort), METRICS_PORT: String(port), LOG_LEVEL: 'info' },
          log(`worker${i + 1}`),
        ),
    );
    const stateFile = join(FAULT_DATA_DIR, 'e2e', `${name}-${process.pid}-${suffix}.json`);
    const fleet = new FaultFleet(name, database, databaseUrl, redisKeyPrefix, env, api, workers, hooks, stateFile);
    try {
      await Promise.all(fleet.processes.map((p) => p.start()));
    } catch (e) {
      await fleet.stop();
      throw e;
    }
    const state: E2eState = {
      appUrl: api.url,
      appPort: apiPort,
      appPid: api.pid ?? 0,
      webhookPort,
      webhookUrl: env.WEBHOOK_URL,
      database,
      databaseUrl,
      adminDatabaseUrl: FAULT_ADMIN_DATABASE_URL,
      redisUrl: FAULT_REDIS_URL,
      redisKeyPrefix,
      env: api.env,
      logFile: api.logFile,
      startedAt: new Date().toISOString(),
    };
    writeState(stateFile, { apps: [state] });
    process.env[STATE_ENV_VAR] = stateFile;
    console.log(
      `${name}: fleet (api + ${workers.length} workers) up in ${Date.now() - t0} ms; logs ${FAULT_LOG_DIR}/${name}-${suffix}-*.log`,
    );
    return fleet;
  }

  /** Restarts every process that is not running (after a test killed some). */
  async ensureRunning(): Promise<void> {
    await Promise.all(this.processes.filter((p) => !p.running).map((p) => p.start()));
  }

  async stop(): Promise<void> {
    await Promise.all(this.processes.map((p) => p.kill('SIGTERM', 10_000)));
    await this.hooks.stop().catch(() => undefined);
    await closeDb().catch(() => undefined);
    if (process.env.FAULTS_KEEP_DATA !== 'true') {
      await dropDatabase(FAULT_ADMIN_DATABASE_URL, this.database).catch(() => undefined);
      await deleteRedisKeys(FAULT_REDIS_URL, `${this.redisKeyPrefix}*`).catch(() => undefined);
    }
    rmSync(this.stateFile, { force: true });
  }

  /** Pids of the fleet's processes still alive (for messages). */
  describe(): string {
    return this.processes.map((p) => `${p.name}: ${p.pid && isAlive(p.pid) ? `pid ${p.pid}` : (p.exit ?? 'not started')}`).join(', ');
  }
}
