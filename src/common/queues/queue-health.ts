import { getQueueToken } from '@nestjs/bullmq';
import { Provider } from '@nestjs/common';
import { Queue } from 'bullmq';

export type QueueBacklog = Record<'waiting' | 'active' | 'delayed' | 'failed', number>;

/**
 * What the health module asks of one module's queue: does it answer, and with what backlog. Each module that owns a
 * queue provides one (`provideQueueHealth`); /health/ready finds them all, so a new queue cannot be left out.
 */
export class QueueProbe {
  constructor(private readonly queue: Queue) {}

  get name(): string {
    return this.queue.name;
  }

  async backlog(): Promise<QueueBacklog> {
    return (await this.queue.getJobCounts('waiting', 'active', 'delayed', 'failed')) as QueueBacklog;
  }
}

export function provideQueueHealth(queueName: string): Provider {
  return { provide: `queue-probe:${queueName}`, inject: [getQueueToken(queueName)], useFactory: (queue: Queue) => new QueueProbe(queue) };
}
