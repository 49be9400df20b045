import { Processor, WorkerHost } from '@nestjs/bullmq';
import { Job } from 'bullmq';
import { WORKER_LOCKS } from '../../common/queues/worker-options';
import { previousKenyaDay } from '../kenya-time';
import { PULL_ACTOR, PullService } from '../pull/pull.service';
import { ReconciliationService } from '../reports/reconciliation.service';
import { RECONCILIATION_QUEUE, ReconciliationJob } from './reconciliation-jobs';

@Processor(RECONCILIATION_QUEUE, { ...WORKER_LOCKS, concurrency: 1 })
export class ReconciliationProcessor extends WorkerHost {
  constructor(
    private readonly pull: PullService,
    private readonly reconciliation: ReconciliationService,
  ) {
    super();
  }

  async process(job: Job): Promise<unknown> {
    const name = job.name as ReconciliationJob;
    switch (name) {
      case ReconciliationJob.PullRun: {
        const { run } = await this.pull.run('scheduled', await this.pull.scheduledWindow(), PULL_ACTOR);
        return { pullRunId: run.id, status: run.status };
      }
      case ReconciliationJob.DailyReconciliation: {
        // The day before the job's scheduled time (it was queued a day ahead, delayed): a retry hours later reconciles
        // the same day.
        const scheduledAt = new Date(job.timestamp + (job.opts.delay ?? 0));
        const { report, created } = await this.reconciliation.reconcileDay(previousKenyaDay(scheduledAt), PULL_ACTOR);
        return { reportId: report.id, created, counts: report.counts };
      }
      default: {
        const unknown: never = name;
        throw new Error(`No handler for reconciliation job ${String(unknown)}`);
      }
    }
  }
}
