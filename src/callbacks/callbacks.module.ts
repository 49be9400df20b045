import { Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { MetricsModule } from '../metrics/metrics.module';
import { CallbackGate } from './callback-gate';
import { CallbackUrls } from './callback-urls';
import { InboundCallbacks } from './inbound-callbacks';

/** Daraja's callbacks both ways: the signed URLs we hand out, and the one pipeline every callback goes through. */
@Module({
  imports: [AuditModule, MetricsModule],
  providers: [CallbackUrls, InboundCallbacks, CallbackGate],
  exports: [CallbackUrls, InboundCallbacks, CallbackGate],
})
export class CallbacksModule {}
