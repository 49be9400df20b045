import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { setTimeout as sleep } from 'node:timers/promises';
import { Actor, AuditService } from '../audit/audit.service';
import { CallbackUrls } from '../callbacks/callback-urls';
import { AppError, ErrorCode, NotFoundError } from '../common/errors/app-error';
import { redactText } from '../common/redaction';
import { mpesaConfig, payoutsConfig } from '../config/configuration';
import { DarajaError, DarajaOutcome } from '../mpesa/daraja-errors';
import { AccountBalanceEntry, parseAccountBalance, ParsedResult } from '../mpesa/daraja-result.parser';
import { DarajaClient } from '../mpesa/daraja.client';
import { BalanceSnapshot } from './balance-snapshot.entity';
import { BalanceSnapshotsRepository } from './balance-snapshots.repository';

const POLL_MS = 200;
/** B2C pays from the Utility account; Buy Goods shortcodes call it the Merchant account (docs/daraja.md §6). */
const PAYING_ACCOUNT = /utility|merchant/i;

/** The note on a request whose answer did not say whether M-Pesa took it; never Daraja's text (it may be an HTML page). */
export function unknownAnswerNote(error: DarajaError): string {
  return `M-Pesa's answer did not say whether it took the request (${error.reason ?? `HTTP ${error.httpStatus ?? '?'}`}); waiting for its result`;
}

/** Account Balance: asks Daraja, stores every snapshot, and answers "is there enough money for this payout?". */
@Injectable()
export class BalanceService {
  private readonly logger = new Logger(BalanceService.name);

  constructor(
    private readonly snapshots: BalanceSnapshotsRepository,
    @Inject(mpesaConfig.KEY) private readonly mpesa: ConfigType<typeof mpesaConfig>,
    @Inject(payoutsConfig.KEY) private readonly settings: ConfigType<typeof payoutsConfig>,
    private readonly daraja: DarajaClient,
    private readonly callbackUrls: CallbackUrls,
    private readonly audit: AuditService,
  ) {}

  /** Starts a query; the result arrives on the ResultURL. A refused request is stored as failed and reported. */
  async request(actor: Actor, options: { forMoneyMovement?: boolean } = {}): Promise<BalanceSnapshot> {
    const snapshot = await this.snapshots.insert(this.mpesa.b2cShortcode, actor.id ?? actor.type);
    await this.audit.record(actor, { action: 'balance.requested', entityType: 'balance_snapshot', entityId: snapshot.id });
    try {
      const accepted = await this.daraja.accountBalance(
        { remarks: 'Account balance', ...this.callbackUrls.resultUrls('balance', snapshot.id) },
        {
          reference: snapshot.id,
          requestId: actor.requestId ?? undefined,
          userId: actor.id ?? undefined,
          forMoneyMovement: options.forMoneyMovement,
        },
      );
      await this.snapshots.markAccepted(snapshot.id, accepted.OriginatorConversationID, accepted.ConversationID);
    } catch (error) {
      if (!(error instanceof DarajaError)) throw error;
      if (error.outcome === DarajaOutcome.Unknown) {
        // It may have reached M-Pesa (docs/outcome-model.md): failing it here would drop the result that may still come.
        // It stays pending until that result, or RESULT_WAIT_MAX_MS expires it.
        await this.snapshots.settle(snapshot.id, { status: 'pending', resultDesc: unknownAnswerNote(error) });
        return this.get(snapshot.id);
      }
      await this.snapshots.settle(snapshot.id, {
        status: 'failed',
        resultDesc: `M-Pesa did not accept the balance query: ${redactText(error.message)}`,
        resultCode: error.errorCode,
      });
    }
    return this.get(snapshot.id);
  }

  async applyResult(id: string, result: ParsedResult): Promise<'applied' | 'duplicate'> {
    const raw = result.parameters['accountbalance'];
    const accounts = result.resultCode === '0' && typeof raw === 'string' ? parseAccountBalance(raw) : undefined;
    const applied = await this.snapshots.settle(id, {
      status: accounts ? 'completed' : 'failed',
      accounts: accounts ?? null,
      rawBalance: typeof raw === 'string' ? raw : null,
      resultCode: result.resultCode,
      resultDesc: result.resultDesc,
      conversationId: result.conversationId,
      completedAt: new Date(),
    });
    return applied ? 'applied' : 'duplicate';
  }

  async applyTimeout(id: string, result: ParsedResult | undefined): Promise<'applied' | 'duplicate'> {
    const applied = await this.snapshots.settle(id, {
      status: 'failed',
      resultCode: result?.resultCode ?? null,
      resultDesc: `Queue timeout: ${result?.resultDesc ?? 'M-Pesa did not process the query in time'}`,
      completedAt: new Date(),
    });
    return applied ? 'applied' : 'duplicate';
  }

  async get(id: string): Promise<BalanceSnapshot> {
    const snapshot = await this.snapshots.findById(id);
    if (!snapshot) throw new NotFoundError('Balance snapshot');
    return snapshot;
  }

  async latest(): Promise<BalanceSnapshot> {
    const snapshot = await this.snapshots.latestCompleted();
    if (!snapshot) throw new NotFoundError('Balance snapshot');
    return snapshot;
  }

  /**
   * The funds B2C can pay from: a snapshot fresh within BALANCE_FRESHNESS_SECONDS, else a new query whose result is
   * awaited for at most BALANCE_WAIT_MS. Throws a retryable error when no answer came in time.
   */
  async payingAccountFunds(actor: Actor): Promise<{ available: number; snapshotId: string; account: string }> {
    const freshSince = new Date(Date.now() - this.settings.balanceFreshnessSeconds * 1000);
    let snapshot = await this.snapshots.latestCompleted(freshSince);
    if (!snapshot) {
      // Part of a payout: it must not wait behind status queries, nor pause with them during a cool-down.
      const requested = await this.request(actor, { forMoneyMovement: true });
      const deadline = Date.now() + this.settings.balanceWaitMs;
      snapshot = requested;
      while (snapshot.status === 'pending' && Date.now() < deadline) {
        await sleep(POLL_MS);
        snapshot = await this.get(requested.id);
      }
    }
    if (snapshot.status !== 'completed' || !snapshot.accounts) {
      throw new AppError(
        ErrorCode.DARAJA_UNAVAILABLE,
        `Could not read the business balance (${snapshot.resultDesc ?? 'no answer in time'})`,
      );
    }
    const line = snapshot.accounts.find((a: AccountBalanceEntry) => PAYING_ACCOUNT.test(a.account));
    if (!line) throw new AppError(ErrorCode.DARAJA_UNAVAILABLE, 'The balance answer has no Utility (or Merchant) account');
    return { available: line.available, snapshotId: snapshot.id, account: line.account };
  }
}
