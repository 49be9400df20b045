import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { AuditModule } from '../audit/audit.module';
import { DatabaseModule } from '../database/database.module';
import { MpesaModule } from '../mpesa/mpesa.module';
import { DarajaCallMetricsObserver } from './daraja-call-metrics.observer';
import { DatabaseMetrics } from './database-metrics';
import { MetricsController } from './metrics.controller';
import { MetricsRepository } from './metrics.repository';
import { MetricsService } from './metrics.service';
import { QueueMetrics } from './queue-metrics';
import { WorkerMetricsServer } from './worker-metrics.server';

/**
 * Prometheus metrics: GET /metrics (the worker's own port in MODE=worker). Modules that count events import it for
 * MetricsService; it imports none of the feature modules. It observes every Daraja call (DarajaCallMetricsObserver).
 */
@Module({
  imports: [DiscoveryModule, DatabaseModule, AuditModule, MpesaModule],
  controllers: [MetricsController],
  providers: [MetricsService, MetricsRepository, DatabaseMetrics, QueueMetrics, WorkerMetricsServer, DarajaCallMetricsObserver],
  exports: [MetricsService],
})
export class MetricsModule {}
