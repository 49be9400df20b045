import { Global, Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AuditModule } from '../audit/audit.module';
import { DarajaCallMetricsObserver } from './daraja-call-metrics.observer';
import { DatabaseMetrics } from './database-metrics';
import { MetricsController } from './metrics.controller';
import { MetricsRepository } from './metrics.repository';
import { MetricsService } from './metrics.service';
import { QueueMetrics } from './queue-metrics';
import { WorkerMetricsServer } from './worker-metrics.server';

/**
 * Prometheus metrics: GET /metrics (the worker's own port in MODE=worker). Global so that any module can count
 * its events through MetricsService without importing this one; it imports none of the feature modules.
 */
@Global()
@Module({
  imports: [DiscoveryModule, AuditModule],
  controllers: [MetricsController],
  providers: [MetricsService, MetricsRepository, DatabaseMetrics, QueueMetrics, WorkerMetricsServer, DarajaCallMetricsObserver],
  exports: [MetricsService, DarajaCallMetricsObserver],
})
export class MetricsModule {}
