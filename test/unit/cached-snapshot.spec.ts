import { CachedSnapshot } from '../../src/metrics/cached-snapshot';

describe(CachedSnapshot.name, () => {
  afterEach(() => jest.useRealTimers());

  it('loads once for every caller within the TTL, the load in flight included', async () => {
    let loads = 0;
    let release!: (n: number) => void;
    const snapshot = new CachedSnapshot(5_000, () => {
      loads++;
      return new Promise<number>((resolve) => (release = resolve));
    });

    const first = snapshot.get();
    const second = snapshot.get();
    release(42);

    await expect(Promise.all([first, second, snapshot.get()])).resolves.toEqual([42, 42, 42]);
    expect(loads).toBe(1);
  });

  it('loads again once the TTL has passed', async () => {
    jest.useFakeTimers({ now: 1_000_000 });
    let loads = 0;
    const snapshot = new CachedSnapshot(5_000, async () => ++loads);

    await snapshot.get();
    jest.setSystemTime(1_004_999);
    await expect(snapshot.get()).resolves.toBe(1);
    jest.setSystemTime(1_005_000);
    await expect(snapshot.get()).resolves.toBe(2);
  });

  it('forgets a failed load, so the next caller tries again', async () => {
    let loads = 0;
    const snapshot = new CachedSnapshot(60_000, async () => {
      loads++;
      if (loads === 1) throw new Error('database down');
      return 'ok';
    });

    await expect(snapshot.get()).rejects.toThrow('database down');
    await expect(snapshot.get()).resolves.toBe('ok');
    expect(loads).toBe(2);
  });
});
