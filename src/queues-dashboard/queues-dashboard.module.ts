import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { BullBoardInstance, BullBoardModule, InjectBullBoard } from '@bull-board/nestjs';
import { Injectable, Module, OnModuleInit } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService } from '@nestjs/core';
import { Queue } from 'bullmq';
import { QUEUES_DASHBOARD_ROUTE } from './queues-dashboard.auth';

/**
 * Puts every BullMQ queue this process registers (`BullModule.registerQueue` in any module) on the board, found
 * in the container rather than listed here, so that a new queue cannot be missing from the dashboard.
 */
@Injectable()
class DashboardQueues implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    @InjectBullBoard() private readonly board: BullBoardInstance,
  ) {}

  onModuleInit(): void {
    // Several modules register the same queue (a producer here, a health check there): one entry per name.
    const queues = new Map<string, Queue>();
    for (const { instance } of this.discovery.getProviders()) {
      if (instance instanceof Queue && !queues.has(instance.name)) queues.set(instance.name, instance);
    }
    for (const name of [...queues.keys()].sort()) this.board.addQueue(new BullMQAdapter(queues.get(name)!));
  }
}

/**
 * bull-board at /admin/queues (MODE=api and all only: a worker has no HTTP). Its routes are plain Fastify routes
 * outside Nest's guards: `protectQueuesDashboard` (main.ts) gives them JwtAuthGuard's checks, admin only.
 */
@Module({
  imports: [
    DiscoveryModule,
    BullBoardModule.forRoot({
      route: QUEUES_DASHBOARD_ROUTE,
      adapter: FastifyAdapter,
      boardOptions: { uiConfig: { boardTitle: 'LegalPro queues', hideDocsLink: true } },
    }),
  ],
  providers: [DashboardQueues],
})
export class QueuesDashboardModule {}
