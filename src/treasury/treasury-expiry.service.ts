import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { payoutsConfig } from '../config/configuration';
import { BalanceSnapshotsRepository } from './balance-snapshots.repository';
import { TransactionStatusRepository } from './transaction-status.repository';

/**
 * Account Balance and Transaction Status results are not resent by Safaricom: a request still pending after
 * RESULT_WAIT_MAX_MS will never get one, and ends `expired` (visible in its GET) instead of pending forever.
 */
@Injectable()
export class TreasuryExpiryService {
  private readonly logger = new Logger(TreasuryExpiryService.name);

  constructor(
    @Inject(payoutsConfig.KEY) private readonly settings: ConfigType<typeof payoutsConfig>,
    private readonly balances: BalanceSnapshotsRepository,
    private readonly statusQueries: TransactionStatusRepository,
  ) {}

  async expireOverdue(): Promise<{ balances: number; statusQueries: number }> {
    const before = new Date(Date.now() - this.settings.resultWaitMaxMs);
    const why = `No result from M-Pesa within ${Math.round(this.settings.resultWaitMaxMs / 1000)} s (Safaricom does not resend it)`;
    const expired = {
      balances: await this.balances.expireOlderThan(before, why),
      statusQueries: await this.statusQueries.expireOlderThan(before, why),
    };
    if (expired.balances || expired.statusQueries) this.logger.warn(`Expired requests whose result never came: ${JSON.stringify(expired)}`);
    return expired;
  }
}
