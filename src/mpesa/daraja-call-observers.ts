import { Injectable } from '@nestjs/common';
import { DarajaCallObserver, DarajaCallRecord } from './daraja.types';

/**
 * Where the Daraja client reports every call it makes (redacted). The app's own modules add themselves at start
 * (metrics, and through them the transaction log): this module knows none of them.
 */
@Injectable()
export class DarajaCallObservers implements DarajaCallObserver {
  private readonly observers: DarajaCallObserver[] = [];

  add(observer: DarajaCallObserver): void {
    this.observers.push(observer);
  }

  async record(call: DarajaCallRecord): Promise<void> {
    for (const observer of this.observers) await observer.record(call);
  }
}
