import { Injectable, OnModuleInit } from '@nestjs/common';
import { TransactionLogService } from '../audit/transaction-log.service';
import { DarajaCallObservers } from '../mpesa/daraja-call-observers';
import { DarajaCallObserver, DarajaCallRecord } from '../mpesa/daraja.types';
import { MetricsService } from './metrics.service';

/**
 * Observes every Daraja call the client makes: counts it, then hands it to the transaction log. Counted first, so a
 * call is measured even when its log row cannot be written.
 */
@Injectable()
export class DarajaCallMetricsObserver implements DarajaCallObserver, OnModuleInit {
  constructor(
    private readonly observers: DarajaCallObservers,
    private readonly metrics: MetricsService,
    private readonly transactionLog: TransactionLogService,
  ) {}

  onModuleInit(): void {
    this.observers.add(this);
  }

  async record(call: DarajaCallRecord): Promise<void> {
    this.metrics.darajaCall(call);
    await this.transactionLog.record(call);
  }
}
