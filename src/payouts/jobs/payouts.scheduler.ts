import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Queue } from 'bullmq';
import { RecurringJobs, RecurringJobsScheduler } from '../../common/queues/recurring-jobs';
import { workerConfig } from '../../config/configuration';
import { PAYOUT_JOB_DEFAULTS, PAYOUT_SCHEDULER_REFRESH_MS, PAYOUT_SWEEP_SCHEDULER_ID, PayoutJob, PAYOUTS_QUEUE } from './payout-jobs';

/** The payouts sweep, once per SWEEP_INTERVAL_MS for the whole fleet. */
@Injectable()
export class PayoutsScheduler extends RecurringJobsScheduler {
  protected readonly recurring: RecurringJobs;

  constructor(@InjectQueue(PAYOUTS_QUEUE) queue: Queue, @Inject(workerConfig.KEY) settings: ConfigType<typeof workerConfig>) {
    super();
    this.recurring = new RecurringJobs(
      queue,
      [
        {
          schedulerId: PAYOUT_SWEEP_SCHEDULER_ID,
          repeat: { every: settings.sweepIntervalMs },
          name: PayoutJob.Sweep,
          opts: PAYOUT_JOB_DEFAULTS[PayoutJob.Sweep],
          enabled: true,
        },
      ],
      PAYOUT_SCHEDULER_REFRESH_MS,
    );
  }
}
