import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Actor, AuditService } from '../audit/audit.service';
import { InboundCallbackLog, TransactionLogService } from '../audit/transaction-log.service';
import { AppError, ErrorCode, ValidationError } from '../common/errors/app-error';
import { withRequestId } from '../common/request-context';
import { mpesaConfig } from '../config/configuration';
import { MetricsService } from '../metrics/metrics.service';
import { CallbackUrls } from '../common/callback-urls';
import { PaymentSettlementService } from './payment-settlement.service';
import { PaymentsRepository } from './payments.repository';
import { parseStkCallback } from './stk-callback.parser';

export interface InboundCallback {
  paymentId: unknown;
  token: unknown;
  body: unknown;
  ipAddress: string;
  userAgent?: string;
  requestId?: string;
  endpoint: string;
}

export const DARAJA_ACK = { ResultCode: 0, ResultDesc: 'Accepted' } as const;

/**
 * Daraja's callbacks are unsigned, so each is authenticated (IP allowlist, then the URL's HMAC token),
 * validated, logged, and applied exactly once. Rejections are audited and change nothing.
 */
@Injectable()
export class MpesaCallbackService {
  private readonly logger = new Logger(MpesaCallbackService.name);

  constructor(
    @Inject(mpesaConfig.KEY) private readonly settings: ConfigType<typeof mpesaConfig>,
    private readonly callbackUrls: CallbackUrls,
    private readonly payments: PaymentsRepository,
    private readonly settlement: PaymentSettlementService,
    private readonly transactionLog: TransactionLogService,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
  ) {}

  async handleStkCallback(inbound: InboundCallback): Promise<typeof DARAJA_ACK> {
    const started = Date.now();
    const actor: Actor = { type: 'daraja', id: 'stk-callback', ipAddress: inbound.ipAddress, requestId: inbound.requestId };
    const paymentId = typeof inbound.paymentId === 'string' ? inbound.paymentId.slice(0, 64) : null;
    let outcome = 'error';
    let statusCode = 500;
    let transactionId: string | null = null;
    let logged = false;
    let paymentRequestId: string | undefined;
    const logEntry = (): InboundCallbackLog => ({
      transactionType: 'STK_CALLBACK',
      transactionId,
      reference: paymentId,
      endpoint: inbound.endpoint,
      payload: inbound.body,
      statusCode,
      outcome,
      durationMs: Date.now() - started,
      ipAddress: inbound.ipAddress,
      userAgent: inbound.userAgent,
      requestId: paymentRequestId ?? inbound.requestId,
    });
    try {
      if (this.settings.callbackAllowedIps.length > 0 && !this.settings.callbackAllowedIps.includes(inbound.ipAddress)) {
        throw await this.reject(actor, paymentId, 'source IP not in MPESA_CALLBACK_ALLOWED_IPS', 'rejected_ip');
      }
      if (!this.callbackUrls.verify('stk', inbound.paymentId, inbound.token)) {
        throw await this.reject(actor, paymentId, 'missing or invalid callback token', 'rejected_token');
      }
      const parsed = parseStkCallback(inbound.body);
      if (!parsed.ok) {
        await this.auditRejection(actor, paymentId, `malformed payload: ${parsed.reason}`);
        outcome = 'rejected_malformed';
        throw new ValidationError(`Invalid STK callback: ${parsed.reason}`);
      }
      transactionId = parsed.value.checkoutRequestId;
      const payment = paymentId ? await this.payments.findById(paymentId) : null;
      if (!payment) throw await this.reject(actor, paymentId, 'no such payment', 'rejected_unknown');
      // The callback's row, audit events and notification job are filed under the payment's request id (one id finds
      // the payment everywhere); the callback's own request id stays on its log lines, with the payment's beside it.
      paymentRequestId = payment.requestId ?? undefined;
      if (paymentRequestId) actor.requestId = paymentRequestId;
      if (payment.checkoutRequestId && payment.checkoutRequestId !== parsed.value.checkoutRequestId) {
        throw await this.reject(actor, paymentId, `CheckoutRequestID ${parsed.value.checkoutRequestId} does not belong to this payment`, 'rejected_mismatch');
      }
      statusCode = 200;
      outcome = 'applied';
      // The log row of an applied callback is written by the settling statement itself (one round trip).
      outcome = await withRequestId(paymentRequestId, () =>
        this.settlement.applyStkCallback(payment, parsed.value, inbound.body, actor, this.transactionLog.inboundRow(logEntry())),
      );
      logged = outcome === 'applied';
      return DARAJA_ACK;
    } catch (error) {
      if (error instanceof AppError) {
        statusCode = error.code === ErrorCode.VALIDATION ? 400 : 403;
        if (outcome === 'error') outcome = (error.details?.outcome as string) ?? 'rejected';
      }
      throw error;
    } finally {
      this.metrics.callbackHandled('stk', outcome);
      if (!logged) {
        await this.transactionLog.recordInbound(logEntry()).catch((e: unknown) => this.logger.error(`Could not log an STK callback: ${String(e)}`));
      } else {
        this.transactionLog.logReceived(logEntry());
      }
    }
  }

  private async reject(actor: Actor, paymentId: string | null, reason: string, outcome: string): Promise<AppError> {
    await this.auditRejection(actor, paymentId, reason);
    this.logger.warn(`Rejected an STK callback from ${actor.ipAddress}: ${reason}`);
    return new AppError(ErrorCode.CALLBACK_REJECTED, 'Callback rejected', { outcome });
  }

  private async auditRejection(actor: Actor, paymentId: string | null, reason: string): Promise<void> {
    await this.audit.record(actor, { action: 'callback.rejected', entityType: 'payment', entityId: paymentId, metadata: { reason, callback: 'stk' } });
  }
}
