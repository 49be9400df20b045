import { InjectQueue } from '@nestjs/bullmq';
import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Queue } from 'bullmq';
import { RecurringJobs, RecurringJobsScheduler } from '../../common/queues/recurring-jobs';
import { workerConfig } from '../../config/configuration';
import { JOB_DEFAULTS, PaymentJob, PAYMENTS_QUEUE, SCHEDULER_REFRESH_MS, SWEEP_SCHEDULER_ID } from './payment-jobs';

/** The payments sweep, once per SWEEP_INTERVAL_MS for the whole fleet. */
@Injectable()
export class PaymentsScheduler extends RecurringJobsScheduler {
  protected readonly recurring: RecurringJobs;

  constructor(@InjectQueue(PAYMENTS_QUEUE) queue: Queue, @Inject(workerConfig.KEY) settings: ConfigType<typeof workerConfig>) {
    super();
    this.recurring = new RecurringJobs(
      queue,
      [
        {
          schedulerId: SWEEP_SCHEDULER_ID,
          repeat: { every: settings.sweepIntervalMs },
          name: PaymentJob.StatusSweep,
          opts: JOB_DEFAULTS[PaymentJob.StatusSweep],
          enabled: true,
        },
      ],
      SCHEDULER_REFRESH_MS,
    );
  }
}
