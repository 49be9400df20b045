import Redis from 'ioredis';

/**
 * Every field of BullMQ jobs (name, data, failedReason, returnvalue, stacktrace) seen in Redis under an app's key
 * prefix while it works: jobs are removed once they complete or fail, so what they carried is sampled while they wait.
 */
export class JobSampler {
  private readonly fields = new Map<string, string>();
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly redis: Redis,
    private readonly keyPrefix: string,
  ) {}

  start(everyMs = 100): void {
    this.timer = setInterval(() => void this.sample().catch(() => undefined), everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Everything seen so far, one field per line (after one more sample). */
  async seen(): Promise<string> {
    await this.sample();
    return [...this.fields.values()].join('\n');
  }

  async sample(): Promise<void> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.redis.scan(cursor, 'MATCH', `${this.keyPrefix}:bull:*`, 'COUNT', 1000);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    const pipeline = this.redis.pipeline();
    for (const key of keys) pipeline.hmget(key, 'name', 'data', 'failedReason', 'returnvalue', 'stacktrace');
    const results = (await pipeline.exec()) ?? [];
    results.forEach(([error, values], i) => {
      if (error || !Array.isArray(values)) return; // not a hash (lists, sets, streams of the queue)
      values.forEach((value, f) => {
        if (typeof value === 'string' && value) this.fields.set(`${keys[i]}#${f}`, value);
      });
    });
  }
}
