/**
 * A value loaded at most once per `ttlMs`: callers within that time (a scrape storm, or the several gauges of one
 * scrape) share one load, the one in flight included. A failed load is forgotten, so the next caller tries again.
 */
export class CachedSnapshot<T> {
  private current?: { loadedAt: number; value: Promise<T> };

  constructor(
    private readonly ttlMs: number,
    private readonly load: () => Promise<T>,
  ) {}

  get(): Promise<T> {
    const now = Date.now();
    if (this.current && now - this.current.loadedAt < this.ttlMs) return this.current.value;
    const entry = { loadedAt: now, value: this.load() };
    this.current = entry;
    entry.value.catch(() => {
      if (this.current === entry) this.current = undefined;
    });
    return entry.value;
  }
}
