import { JobsOptions, Queue } from 'bullmq';

/** How long an enqueue may take before its caller stops waiting (the job is then the sweeps' to find). */
export const ENQUEUE_WAIT_MS = 500;

/** Redis is unreachable: the job was not queued. What it was for is in Postgres, where the sweeps find it. */
export class QueueUnavailableError extends Error {
  constructor(queue: string, why: string) {
    super(`Queue ${queue} is unavailable: ${why}`);
    this.name = 'QueueUnavailableError';
  }
}

/**
 * Adds a job without ever waiting on a Redis that is down. BullMQ's connections retry forever
 * (maxRetriesPerRequest: null), so a plain `queue.add` during an outage hangs until Redis returns: a Daraja callback
 * or an API request must not. Fails fast when the connection is not ready, and stops waiting after ENQUEUE_WAIT_MS.
 */
export async function addJob(queue: Queue, name: string, data: object, opts: JobsOptions): Promise<void> {
  const client = await Promise.race([queue.client, timeout(queue.name, 'no connection')]);
  if (client.status !== 'ready') throw new QueueUnavailableError(queue.name, `Redis connection is ${client.status}`);
  await Promise.race([queue.add(name, data, opts), timeout(queue.name, `no answer within ${ENQUEUE_WAIT_MS} ms`)]);
}

/** A bulk enqueue (a sweep's page, from a worker, not a request) may wait this long: one round trip for many jobs. */
export const BULK_ENQUEUE_WAIT_MS = 5_000;

/**
 * Adds many jobs in one round trip (BullMQ's addBulk: the same add script per job, so each jobId still dedupes),
 * with addJob's fail-fast rules. On a timeout some jobs may have been added: they dedupe when added again.
 */
export async function addJobs(
  queue: Queue,
  jobs: { job: { name: string; data: object }; jobId: string; opts?: JobsOptions }[],
): Promise<void> {
  if (!jobs.length) return;
  const client = await Promise.race([queue.client, timeout(queue.name, 'no connection')]);
  if (client.status !== 'ready') throw new QueueUnavailableError(queue.name, `Redis connection is ${client.status}`);
  const bulk = jobs.map(({ job, jobId, opts }) => ({ name: job.name, data: job.data, opts: { ...opts, jobId } }));
  await Promise.race([queue.addBulk(bulk), timeout(queue.name, `no answer within ${BULK_ENQUEUE_WAIT_MS} ms`, BULK_ENQUEUE_WAIT_MS)]);
}

function timeout(queue: string, why: string, waitMs = ENQUEUE_WAIT_MS): Promise<never> {
  return new Promise((_, reject) => {
    const timer = setTimeout(() => reject(new QueueUnavailableError(queue, why)), waitMs);
    timer.unref();
  });
}
