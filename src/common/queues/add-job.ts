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

function timeout(queue: string, why: string): Promise<never> {
  return new Promise((_, reject) => {
    const timer = setTimeout(() => reject(new QueueUnavailableError(queue, why)), ENQUEUE_WAIT_MS);
    timer.unref();
  });
}
