import { Injectable, Logger } from '@nestjs/common';
import { Inject } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Actor, AuditService } from '../audit/audit.service';
import { InboundCallbackLog, TransactionLogService } from '../audit/transaction-log.service';
import { CallbackUrls, RESULT_KINDS, ResultKind } from '../common/callback-urls';
import { AppError, ErrorCode, ValidationError } from '../common/errors/app-error';
import { withRequestId } from '../common/request-context';
import { mpesaConfig } from '../config/configuration';
import { MetricsService } from '../metrics/metrics.service';
import { parseResultCallback, ParsedResult } from '../mpesa/daraja-result.parser';
import { BalanceService } from '../treasury/balance.service';
import { TransactionStatusService } from '../treasury/transaction-status.service';
import { DARAJA_ACK } from './mpesa-callback.service';
import { PayoutsService } from './payouts/payouts.service';
import { ReversalsService } from './reversals/reversals.service';

export interface InboundResult {
  kind?: unknown;
  id?: unknown;
  token?: unknown;
  body: unknown;
  /** `result`: the ResultURL; `timeout`: the QueueTimeOutURL (a timeout whatever its code says). */
  via: 'result' | 'timeout';
  endpoint: string;
  ipAddress: string;
  userAgent?: string;
  requestId?: string;
}

const LOG_TYPES: Record<ResultKind, string> = { payout: 'B2C', balance: 'ACCOUNT_BALANCE', reversal: 'REVERSAL', tstatus: 'TRANSACTION_STATUS' };

/**
 * Results of the initiator APIs (B2C, balance, reversal, transaction status) on ResultURL and QueueTimeOutURL.
 * Same rules as STK callbacks: IP allowlist, the URL's HMAC token, validation, exactly-once guarded transitions,
 * every callback logged and every rejection audited.
 */
@Injectable()
export class ResultCallbackService {
  private readonly logger = new Logger(ResultCallbackService.name);

  constructor(
    @Inject(mpesaConfig.KEY) private readonly settings: ConfigType<typeof mpesaConfig>,
    private readonly callbackUrls: CallbackUrls,
    private readonly payouts: PayoutsService,
    private readonly reversals: ReversalsService,
    private readonly balances: BalanceService,
    private readonly statusQueries: TransactionStatusService,
    private readonly transactionLog: TransactionLogService,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
  ) {}

  async handle(inbound: InboundResult): Promise<typeof DARAJA_ACK> {
    const started = Date.now();
    const kind = RESULT_KINDS.includes(inbound.kind as ResultKind) ? (inbound.kind as ResultKind) : undefined;
    const id = typeof inbound.id === 'string' ? inbound.id.slice(0, 64) : null;
    const actor: Actor = { type: 'daraja', id: `${kind ?? 'unknown'}-${inbound.via}`, ipAddress: inbound.ipAddress, requestId: inbound.requestId };
    let outcome = 'error';
    let statusCode = 500;
    let transactionId: string | null = null;
    let originRequestId: string | undefined;
    try {
      if (this.settings.callbackAllowedIps.length > 0 && !this.settings.callbackAllowedIps.includes(inbound.ipAddress)) {
        outcome = 'rejected_ip';
        throw await this.reject(actor, id, 'source IP not in MPESA_CALLBACK_ALLOWED_IPS');
      }
      if (!kind || !this.callbackUrls.verify(kind, inbound.id, inbound.token)) {
        outcome = 'rejected_token';
        throw await this.reject(actor, id, 'missing or invalid callback token');
      }
      const parsed = parseResultCallback(inbound.body);
      if (!parsed.ok && inbound.via === 'result') {
        outcome = 'rejected_malformed';
        await this.audit.record(actor, { action: 'callback.rejected', entityType: kind, entityId: id, metadata: { reason: `malformed payload: ${parsed.reason}` } });
        throw new ValidationError(`Invalid result callback: ${parsed.reason}`);
      }
      // Safaricom documents no queue-timeout payload: whatever arrives there is a timeout, parsed or not.
      const result = parsed.ok ? parsed.value : undefined;
      transactionId = result?.originatorConversationId ?? null;
      // Filed under the request whose Daraja call this answers (the admin's refund, the payout's job...): its row, audit
      // events and notification jobs; the callback's own request id stays on its log lines (see MpesaCallbackService).
      originRequestId = await this.transactionLog.requestIdOfCall(transactionId, id);
      if (originRequestId) actor.requestId = originRequestId;
      outcome = await withRequestId(originRequestId, () =>
        inbound.via === 'timeout' ? this.applyTimeout(kind, id as string, result) : this.applyResult(kind, id as string, result as ParsedResult, actor),
      );
      statusCode = 200;
      return DARAJA_ACK;
    } catch (error) {
      if (error instanceof AppError) statusCode = error.code === ErrorCode.VALIDATION ? 400 : 403;
      throw error;
    } finally {
      const entry: InboundCallbackLog = {
        transactionType: `${kind ? LOG_TYPES[kind] : 'UNKNOWN'}_${inbound.via === 'timeout' ? 'TIMEOUT' : 'RESULT'}`,
        transactionId,
        reference: id,
        endpoint: inbound.endpoint,
        payload: inbound.body,
        statusCode,
        outcome,
        durationMs: Date.now() - started,
        ipAddress: inbound.ipAddress,
        userAgent: inbound.userAgent,
        requestId: originRequestId ?? inbound.requestId,
      };
      // kind: b2c_result, b2c_timeout, account_balance_result, reversal_timeout, transaction_status_result...
      this.metrics.callbackHandled(entry.transactionType.toLowerCase(), outcome);
      await this.transactionLog.recordInbound(entry).catch((e: unknown) => this.logger.error(`Could not log a result callback: ${String(e)}`));
    }
  }

  private async applyResult(kind: ResultKind, id: string, result: ParsedResult, actor: Actor): Promise<string> {
    switch (kind) {
      case 'payout':
        return this.payouts.applyResult(id, result, actor);
      case 'balance':
        return this.balances.applyResult(id, result);
      case 'reversal':
        return this.reversals.applyResult(id, result, actor);
      case 'tstatus': {
        const query = await this.statusQueries.applyResult(id, result);
        if (!query) return 'duplicate';
        if (query.payoutId) await this.payouts.applyStatusResult(query.payoutId, result, actor);
        return 'applied';
      }
    }
  }

  private async applyTimeout(kind: ResultKind, id: string, result: ParsedResult | undefined): Promise<string> {
    switch (kind) {
      case 'payout':
        return this.payouts.applyTimeout(id, result);
      case 'balance':
        return this.balances.applyTimeout(id, result);
      case 'reversal':
        return this.reversals.applyTimeout(id, result);
      case 'tstatus':
        return (await this.statusQueries.applyTimeout(id, result)) ? 'applied' : 'duplicate';
    }
  }

  private async reject(actor: Actor, id: string | null, reason: string): Promise<AppError> {
    await this.audit.record(actor, { action: 'callback.rejected', entityType: 'result', entityId: id, metadata: { reason } });
    this.logger.warn(`Rejected a result callback from ${actor.ipAddress}: ${reason}`);
    return new AppError(ErrorCode.CALLBACK_REJECTED, 'Callback rejected');
  }
}
