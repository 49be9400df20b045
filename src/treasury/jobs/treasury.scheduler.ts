import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Queue } from 'bullmq';
import { RecurringJobs, RecurringJobsScheduler } from '../../common/queues/recurring-jobs';
import { workerConfig } from '../../config/configuration';
import { TREASURY_JOB_DEFAULTS, TREASURY_QUEUE, TREASURY_SCHEDULER_ID, TREASURY_SCHEDULER_REFRESH_MS, TreasuryJob } from './treasury-jobs';

/** The expiry of overdue balance and Transaction Status requests, once per SWEEP_INTERVAL_MS for the whole fleet. */
@Injectable()
export class TreasuryScheduler extends RecurringJobsScheduler {
  protected readonly recurring: RecurringJobs;

  constructor(@InjectQueue(TREASURY_QUEUE) queue: Queue, @Inject(workerConfig.KEY) settings: ConfigType<typeof workerConfig>) {
    super();
    this.recurring = new RecurringJobs(
      queue,
      [
        {
          schedulerId: TREASURY_SCHEDULER_ID,
          repeat: { every: settings.sweepIntervalMs },
          name: TreasuryJob.ExpireRequests,
          opts: TREASURY_JOB_DEFAULTS[TreasuryJob.ExpireRequests],
          enabled: true,
        },
      ],
      TREASURY_SCHEDULER_REFRESH_MS,
    );
  }
}
