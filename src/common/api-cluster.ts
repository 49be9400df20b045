import cluster, { Worker } from 'node:cluster';

/** A process that dies this soon after its start (bad settings, a failed preflight) is not started again. */
const EARLY_EXIT_MS = 10_000;
/** A process that dies later (a crash) is replaced after this pause, so a crash loop cannot spin the CPU. */
const RESPAWN_DELAY_MS = 1_000;

/**
 * API_PROCESSES > 1 (MODE=api): this process becomes a Node cluster primary that serves nothing itself. It forks that
 * many copies of the entry point, which each build the whole HTTP app and listen on the same PORT: the primary
 * accepts connections and hands them out in turn (cluster's round-robin on Linux), so one port is served by several
 * cores. Nothing is shared in memory between them: what must hold across processes already does (Postgres is the
 * referee, limits and the call budget are in Redis), exactly as between replicas on different hosts.
 *
 * A process that crashes is replaced; one that fails at start (settings, preflight) stops the whole group with its
 * exit code, since its copies would fail the same way. SIGTERM / SIGINT are passed on to every process, and the
 * primary exits once they have all finished their own graceful shutdown.
 */
export function runApiCluster(processes: number): void {
  const logger = { log: (msg: string) => say(30, msg), error: (msg: string) => say(50, msg) };
  let stopping = false;
  let exitCode = 0;
  const startedAt = new Map<Worker, number>();

  const fork = () => startedAt.set(cluster.fork(), Date.now());
  const stopAll = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.log(`${signal}: stopping ${startedAt.size} HTTP processes`);
    for (const worker of startedAt.keys()) worker.process.kill(signal);
  };

  cluster.on('exit', (worker, code, signal) => {
    const started = startedAt.get(worker) ?? Date.now();
    startedAt.delete(worker);
    if (!stopping) {
      if (Date.now() - started < EARLY_EXIT_MS && code !== 0) {
        logger.error(`HTTP process ${worker.process.pid} failed at start (exit code ${code}); stopping the others`);
        exitCode = code;
        stopAll('SIGTERM');
      } else {
        logger.error(`HTTP process ${worker.process.pid} exited (${signal ?? `code ${code}`}); starting another`);
        setTimeout(() => !stopping && fork(), RESPAWN_DELAY_MS);
      }
    }
    if (stopping && startedAt.size === 0) process.exit(exitCode);
  });
  process.on('SIGTERM', () => stopAll('SIGTERM'));
  process.on('SIGINT', () => stopAll('SIGINT'));

  for (let i = 0; i < processes; i++) fork();
  logger.log(`MODE=api: ${processes} HTTP processes share one port (API_PROCESSES)`);
}

/** True in the process that must fork the HTTP processes instead of serving. */
export function isApiClusterPrimary(processes: number): boolean {
  return processes > 1 && cluster.isPrimary;
}

/** The primary builds no Nest app (so no pino): its few lines are written in the same JSON shape as the others'. */
function say(level: 30 | 50, msg: string): void {
  const line = JSON.stringify({ level, time: Date.now(), pid: process.pid, context: 'ApiCluster', msg });
  if (level >= 50) console.error(line);
  else console.log(line);
}
