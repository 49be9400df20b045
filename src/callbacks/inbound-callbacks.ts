import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Actor, AuditService } from '../audit/audit.service';
import { InboundCallbackLog, TransactionLogService } from '../audit/transaction-log.service';
import { AppError, ErrorCode, ValidationError } from '../common/errors/app-error';
import { httpStatusFor } from '../common/errors/app-error.filter';
import { withRequestId } from '../common/request-context';
import { mpesaConfig } from '../config/configuration';
import { MetricsService } from '../metrics/metrics.service';
import { CallbackKind, callbackLabels, CallbackRoute, CallbackUrls } from './callback-urls';

/** What Daraja gets back for a callback it may stop resending. */
export const DARAJA_ACK = { ResultCode: 0, ResultDesc: 'Accepted' } as const;
export type DarajaAck = typeof DARAJA_ACK;

/** A callback as it reached one of our routes, before anything is known about it. */
export interface InboundCallback {
  /** What the URL was for; undefined when the URL names no kind we hand out (then its token cannot be valid). */
  kind: CallbackKind | undefined;
  /** Our row's id from the URL (`pid` or `id`). */
  id: unknown;
  token: unknown;
  body: unknown;
  endpoint: string;
  ipAddress: string;
  userAgent?: string;
  requestId?: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

/**
 * The one place a callback is handled once it is known to be genuine and well formed. `A`: what Daraja is answered
 * (DARAJA_ACK unless the handler says otherwise, e.g. a C2B validation's accept or reject).
 */
export interface CallbackHandler<T, A extends object = DarajaAck> {
  /** `transaction_logs.transaction_type` of this callback (STK_CALLBACK, B2C_RESULT, REVERSAL_TIMEOUT...). */
  logType: string;
  /** Its `kind` label in the callback metrics (stk, b2c_result, reversal_timeout...). */
  metricsKind: string;
  /** Its audit actor id (stk-callback, payout-result, reversal-timeout...). */
  actorId: string;
  /** What a 400 calls it: "Invalid STK callback: <reason>". */
  description: string;
  parse(body: unknown): Parsed<T>;
  /** Daraja's id in the payload (CheckoutRequestID, OriginatorConversationID), for the log row. */
  transactionIdOf(value: T): string | null;
  /**
   * Applies the callback. May throw `CallbackRejection` (nothing changed). When it writes the callback's log row
   * itself (inside the change it made, see `context.logRow`), it says so with `logged: true`.
   */
  apply(value: T, context: CallbackContext): Promise<{ outcome: string; logged?: boolean; answer?: A }>;
}

/** What a handler knows and may set while applying. */
export interface CallbackContext {
  /** Our row's id from the URL. */
  id: string;
  /** The payload as received (handlers redact what they store). */
  body: unknown;
  actor: Actor;
  /** The request whose Daraja call this callback answers: its rows, audit events and jobs are filed under it. */
  originRequestId?: string;
  /** The callback's log row as the pipeline would write it, for a handler that writes it inside its own change. */
  logRow(outcome: string): InboundCallbackLog;
}

/** A genuine callback that we will not apply (no such row, an id that belongs elsewhere): 403, audited, changes nothing. */
export class CallbackRejection extends Error {
  constructor(
    readonly outcome: string,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** The entity an audit event of a rejected callback is filed under, by what the URL was for. */
const AUDITED_AS: Record<CallbackKind, string> = {
  stk: 'payment',
  payout: 'payout',
  balance: 'balance_snapshot',
  reversal: 'reversal',
  tstatus: 'transaction_status_query',
  c2b: 'c2b_notification',
};

/**
 * Every Daraja callback takes the same path: source IP allowlist, the URL's HMAC token, parse, apply (exactly once,
 * by the handler), and one transaction-log row whose status code and outcome are what Daraja was actually answered.
 * Daraja's callbacks are unsigned: rejections are audited and change nothing.
 */
@Injectable()
export class InboundCallbacks {
  private readonly logger = new Logger(InboundCallbacks.name);

  constructor(
    @Inject(mpesaConfig.KEY) private readonly settings: ConfigType<typeof mpesaConfig>,
    private readonly urls: CallbackUrls,
    private readonly transactionLog: TransactionLogService,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
  ) {}

  async handle<T, A extends object = DarajaAck>(inbound: InboundCallback, handler: CallbackHandler<T, A>): Promise<A | DarajaAck> {
    const started = Date.now();
    const id = typeof inbound.id === 'string' ? inbound.id.slice(0, 64) : null;
    const actor: Actor = { type: 'daraja', id: handler.actorId, ipAddress: inbound.ipAddress, requestId: inbound.requestId };
    const context: CallbackContext = { id: id ?? '', body: inbound.body, actor, logRow: (outcome) => entry(outcome, 200) };
    let transactionId: string | null = null;
    const entry = (outcome: string, statusCode: number): InboundCallbackLog => ({
      transactionType: handler.logType,
      transactionId,
      reference: id,
      endpoint: inbound.endpoint,
      payload: inbound.body,
      statusCode,
      outcome,
      durationMs: Date.now() - started,
      ipAddress: inbound.ipAddress,
      userAgent: inbound.userAgent,
      requestId: context.originRequestId ?? inbound.requestId,
    });

    let outcome = 'error';
    let statusCode = 500;
    let logged = false;
    try {
      const rejection = this.screen(inbound);
      if (rejection) throw rejection;
      const parsed = handler.parse(inbound.body);
      if (!parsed.ok) {
        outcome = 'rejected_malformed';
        await this.auditRejection(inbound.kind, id, actor, `malformed payload: ${parsed.reason}`);
        throw new ValidationError(`Invalid ${handler.description}: ${parsed.reason}`);
      }
      transactionId = handler.transactionIdOf(parsed.value);
      const applied = await handler.apply(parsed.value, context);
      outcome = applied.outcome;
      statusCode = 200;
      logged = applied.logged === true;
      return applied.answer ?? DARAJA_ACK;
    } catch (error) {
      if (error instanceof CallbackRejection) {
        outcome = error.outcome;
        statusCode = httpStatusFor(ErrorCode.CALLBACK_REJECTED);
        await this.auditRejection(inbound.kind, id, actor, error.reason);
        this.logger.warn(`Rejected a ${inbound.kind ?? 'callback'} callback from ${inbound.ipAddress}: ${error.reason}`);
        throw new AppError(ErrorCode.CALLBACK_REJECTED, 'Callback rejected');
      }
      if (error instanceof AppError) statusCode = httpStatusFor(error.code);
      throw error;
    } finally {
      this.metrics.callbackHandled(handler.metricsKind, outcome);
      const row = entry(outcome, statusCode);
      if (logged) this.transactionLog.logReceived(row);
      else await this.transactionLog.recordInbound(row).catch((e: unknown) => this.logger.error(`Could not log a callback: ${String(e)}`));
    }
  }

  /**
   * The checks that need no body: the source IP and the URL's token. Run before Fastify parses the body
   * (CallbackGate), and again here: a forged callback costs us an HMAC, never a parse or a write of its body.
   */
  screen(inbound: Pick<InboundCallback, 'kind' | 'id' | 'token' | 'ipAddress'>): CallbackRejection | undefined {
    if (this.settings.callbackAllowedIps.length > 0 && !this.settings.callbackAllowedIps.includes(inbound.ipAddress)) {
      return new CallbackRejection('rejected_ip', 'source IP not in MPESA_CALLBACK_ALLOWED_IPS');
    }
    if (!inbound.kind || !this.urls.verify(inbound.kind, inbound.id, inbound.token)) {
      return new CallbackRejection('rejected_token', 'missing or invalid callback token');
    }
    return undefined;
  }

  /**
   * Records a callback refused before its body was read: a bounded record (the route, our id from the URL, the
   * source), never its body. Counted, audited, logged like every rejection.
   */
  async recordEarlyRejection(
    route: CallbackRoute,
    inbound: Omit<InboundCallback, 'body' | 'token'>,
    rejection: CallbackRejection,
  ): Promise<void> {
    const labels = callbackLabels(route, inbound.kind);
    const id = typeof inbound.id === 'string' ? inbound.id.slice(0, 64) : null;
    const actor: Actor = { type: 'daraja', id: labels.actorId, ipAddress: inbound.ipAddress, requestId: inbound.requestId };
    this.metrics.callbackHandled(labels.metricsKind, rejection.outcome);
    this.logger.warn(`Rejected a ${inbound.kind ?? 'callback'} callback from ${inbound.ipAddress} before reading it: ${rejection.reason}`);
    await this.auditRejection(inbound.kind, id, actor, rejection.reason);
    await this.transactionLog.recordInbound({
      transactionType: labels.logType,
      reference: id,
      endpoint: inbound.endpoint,
      payload: null,
      statusCode: httpStatusFor(ErrorCode.CALLBACK_REJECTED),
      outcome: rejection.outcome,
      durationMs: 0,
      ipAddress: inbound.ipAddress,
      userAgent: inbound.userAgent,
      requestId: inbound.requestId,
    });
  }

  /** Runs `work` filed under the request whose Daraja call the callback answers (see CallbackContext). */
  inOrigin<R>(context: CallbackContext, requestId: string | null | undefined, work: () => Promise<R>): Promise<R> {
    if (requestId) {
      context.originRequestId = requestId;
      context.actor.requestId = requestId;
    }
    return withRequestId(requestId ?? undefined, work);
  }

  private async auditRejection(kind: CallbackKind | undefined, id: string | null, actor: Actor, reason: string): Promise<void> {
    await this.audit.record(actor, {
      action: 'callback.rejected',
      entityType: kind ? AUDITED_AS[kind] : 'callback',
      entityId: id,
      metadata: { reason, callback: kind ?? 'unknown' },
    });
  }
}
