/**
 * Lock and stall settings every worker of the service uses. A worker renews the lock of each job it runs every
 * lockDuration / 2; a job whose lock lapsed (its worker was killed) is found by another worker's stall check, which
 * runs every stalledInterval, and run again. BullMQ's defaults (30 s each) leave a killed worker's jobs waiting up to a
 * minute, and the sweeps cannot queue them again meanwhile because their job ids are taken; with 5 s each a dead
 * worker's jobs are taken over within 10 s. Every job re-reads its row and re-checks its state, so a job run twice
 * (a worker that only paused) is harmless. No job holds the event loop anywhere near 2.5 s.
 */
export const WORKER_LOCKS = { lockDuration: 5_000, stalledInterval: 5_000 } as const;
