import { Injectable } from '@nestjs/common';
import { TransactionLogService } from '../audit/transaction-log.service';
import { DarajaCallObserver, DarajaCallRecord } from '../mpesa/daraja.types';
import { MetricsService } from './metrics.service';

/**
 * The Daraja client's call observer (wired in app.module.ts): counts the call, then hands it to the transaction log
 * as before. Counted first, so a call is measured even when its log row cannot be written.
 */
@Injectable()
export class DarajaCallMetricsObserver implements DarajaCallObserver {
  constructor(
    private readonly metrics: MetricsService,
    private readonly transactionLog: TransactionLogService,
  ) {}

  async record(call: DarajaCallRecord): Promise<void> {
    this.metrics.darajaCall(call);
    await this.transactionLog.record(call);
  }
}
