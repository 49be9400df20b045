import { WorkerHost } from '@nestjs/bullmq';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';
import { DiscoveryService } from '@nestjs/core';
import { Job, Queue, Worker } from 'bullmq';
import { Gauge } from 'prom-client';
import { CachedSnapshot } from './cached-snapshot';
import { MetricsService } from './metrics.service';
import { redactText } from '../common/redaction';

const STATES = ['waiting', 'active', 'delayed', 'failed'] as const;
const QUEUE_SNAPSHOT_TTL_MS = 5_000;

/**
 * Every BullMQ queue and worker of this process, found by discovery rather than listed, so that a queue added by
 * a new module is measured without touching this file. Depth comes from Redis at scrape time (the same whichever
 * process is scraped); failed attempts are counted by the workers that ran them (per process).
 */
@Injectable()
export class QueueMetrics implements OnApplicationBootstrap {
  private readonly logger = new Logger(QueueMetrics.name);
  private queues: Queue[] = [];
  private readonly depth = new CachedSnapshot(QUEUE_SNAPSHOT_TTL_MS, () =>
    Promise.all(this.queues.map(async (queue) => ({ queue: queue.name, counts: await queue.getJobCounts(...STATES) }))),
  );

  constructor(
    private readonly discovery: DiscoveryService,
    private readonly metrics: MetricsService,
  ) {
    const gauge: Gauge<'queue' | 'state'> = new Gauge({
      name: 'legalpro_queue_jobs',
      help: 'Jobs in each BullMQ queue by state (waiting, active, delayed, failed)',
      labelNames: ['queue', 'state'] as const,
      registers: [metrics.registry],
      collect: async () => {
        gauge.reset();
        try {
          for (const { queue, counts } of await this.depth.get()) {
            for (const state of STATES) gauge.set({ queue, state }, counts[state] ?? 0);
          }
        } catch (error) {
          this.metrics.collectFailed('queues');
          this.logger.warn(`Could not read queue depths: ${error instanceof Error ? error.message : String(error)}`);
        }
      },
    });
  }

  onApplicationBootstrap(): void {
    const queues = new Map<string, Queue>();
    const workers = new Map<string, Worker>();
    for (const wrapper of this.discovery.getProviders()) {
      if (!wrapper.isDependencyTreeStatic()) continue;
      const instance: unknown = wrapper.instance;
      // Several modules register the same queue: one Queue instance each, one series per queue name.
      if (instance instanceof Queue && !queues.has(instance.name)) queues.set(instance.name, instance);
      // Processors exist only where workers run (MODE=worker or all); their Worker was created in onModuleInit.
      if (instance instanceof WorkerHost) {
        try {
          workers.set(instance.worker.name, instance.worker);
        } catch (error) {
          // A processor registered by hand later (manualRegistration) has no Worker yet: unmeasured, not fatal.
          this.logger.warn(
            `Failed jobs of ${String(wrapper.name)} are not counted: ${error instanceof Error ? error.message : String(error)}`,
          );
        }
      }
    }
    this.queues = [...queues.values()];
    for (const [queue, worker] of workers) {
      worker.on('failed', (job: Job | undefined, error: Error) => {
        // BullMQ sets finishedOn only when the job moved to `failed`, i.e. no retry is left.
        const final = Boolean(job?.finishedOn);
        this.metrics.jobFailed(queue, job?.name ?? 'unknown', final);
        // Counted and said: a job that throws on every run (a broken sweep query) must not fail in silence.
        const attempt = `${job?.attemptsMade ?? '?'}/${job?.opts.attempts ?? 1}`;
        const message = `Job ${job?.name ?? 'unknown'} (${job?.id ?? '-'}) of queue ${queue} failed, attempt ${attempt}: ${redactText(error?.message ?? String(error))}`;
        if (final) this.logger.error(message);
        else this.logger.warn(message);
      });
    }
  }
}
