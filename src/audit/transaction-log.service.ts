import { Injectable, Logger } from '@nestjs/common';
import { InjectEntityManager } from '@nestjs/typeorm';
import { EntityManager } from 'typeorm';
import { redact } from '../common/redaction';
import { currentRequestId, withRequestId } from '../common/request-context';
import { preparedQuery } from '../database/prepared-query';
import { DarajaCallObserver, DarajaCallRecord } from '../mpesa/daraja.types';
import { TransactionLog } from './transaction-log.entity';

export interface InboundCallbackLog {
  transactionType: string;
  transactionId?: string | null;
  reference?: string | null;
  endpoint: string;
  payload: unknown;
  statusCode: number;
  outcome: string;
  durationMs: number;
  ipAddress?: string | null;
  userAgent?: string | null;
  /**
   * The request the callback answers (the payment's or payout's own request id), so that one id finds the whole
   * story; the callback's own HTTP request id stays in its log lines. Defaults to the current request id.
   */
  requestId?: string | null;
}

/** The Daraja calls whose answers come back by callback: a callback row is filed under the request that made one. */
const CALLS_ANSWERED_BY_CALLBACK = ['STK_PUSH', 'B2C', 'ACCOUNT_BALANCE', 'REVERSAL', 'TRANSACTION_STATUS'];

/**
 * The Daraja transaction log: every outbound call (as the call observer) and every callback received, each row and
 * log line filed under the request id of the payment or payout it is about.
 */
@Injectable()
export class TransactionLogService implements DarajaCallObserver {
  private readonly logger = new Logger(TransactionLogService.name);

  constructor(@InjectEntityManager() private readonly manager: EntityManager) {}

  // Raw and prepared: one of these is written for every Daraja call.
  async record(call: DarajaCallRecord): Promise<void> {
    // A caller that names no request id (the OAuth fetch, a worker's balance check) is working for the current one.
    const requestId = call.context.requestId ?? currentRequestId();
    this.log(
      requestId,
      call.outcome === 'ok',
      `Daraja ${call.api} ${call.endpoint}: ${call.outcome}, HTTP ${call.statusCode ?? '-'}, ${call.durationMs} ms${call.context.reference ? `, reference ${call.context.reference}` : ''}`,
    );
    await preparedQuery(
      this.manager,
      'transaction-log-insert-call',
      `INSERT INTO transaction_logs (transaction_id, reference, transaction_type, endpoint, request_data, response_data,
                                     status_code, duration, outcome, user_id, request_id)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [
        call.transactionId ?? null,
        call.context.reference ?? null,
        call.api,
        call.endpoint,
        JSON.stringify(call.request ?? null),
        JSON.stringify(call.response ?? null),
        call.statusCode,
        call.durationMs,
        call.outcome,
        call.context.userId ?? null,
        requestId ?? null,
      ],
    );
  }

  async recordInbound(entry: InboundCallbackLog, manager: EntityManager = this.manager): Promise<void> {
    this.logReceived(entry);
    await manager.insert(TransactionLog, {
      transactionId: entry.transactionId ?? null,
      reference: entry.reference ?? null,
      transactionType: entry.transactionType,
      endpoint: entry.endpoint,
      requestData: redact(entry.payload) as object,
      responseData: null,
      statusCode: entry.statusCode,
      duration: entry.durationMs,
      outcome: entry.outcome,
      ipAddress: entry.ipAddress ?? null,
      userAgent: entry.userAgent?.slice(0, 255) ?? null,
      requestId: entry.requestId ?? currentRequestId() ?? null,
    });
  }

  /** The same row as column values, for a caller that writes it inside its own statement. */
  inboundRow(entry: InboundCallbackLog): Record<string, unknown> {
    return {
      transaction_id: entry.transactionId ?? null,
      reference: entry.reference ?? null,
      transaction_type: entry.transactionType,
      endpoint: entry.endpoint,
      request_data: redact(entry.payload),
      status_code: entry.statusCode,
      duration: entry.durationMs,
      outcome: entry.outcome,
      ip_address: entry.ipAddress ?? null,
      user_agent: entry.userAgent?.slice(0, 255) ?? null,
      request_id: entry.requestId ?? currentRequestId() ?? null,
    };
  }

  /**
   * The request id of the Daraja call a callback answers: by the id Daraja echoes (CheckoutRequestID,
   * OriginatorConversationID) or by our own reference in the callback URL.
   */
  async requestIdOfCall(transactionId: string | null | undefined, reference: string | null | undefined): Promise<string | undefined> {
    if (!transactionId && !reference) return undefined;
    const rows = (await this.manager.query(
      `SELECT request_id FROM transaction_logs
        WHERE (transaction_id = $1 OR reference = $2) AND transaction_type = ANY($3) AND request_id IS NOT NULL
        ORDER BY id LIMIT 1`,
      [transactionId ?? null, reference ?? null, CALLS_ANSWERED_BY_CALLBACK],
    )) as { request_id: string }[];
    return rows[0]?.request_id;
  }

  /** The log line of a callback (written by recordInbound; by the caller when the row went in with inboundRow). */
  logReceived(entry: InboundCallbackLog): void {
    this.log(
      entry.requestId ?? currentRequestId(),
      entry.statusCode === 200,
      `Daraja ${entry.transactionType} received on ${entry.endpoint}: ${entry.outcome}, HTTP ${entry.statusCode}${entry.reference ? `, reference ${entry.reference}` : ''}`,
    );
  }

  /** Under the request the call belongs to: an HTTP line keeps its own id and gains `originRequestId` (see logging.ts). */
  private log(requestId: string | null | undefined, ok: boolean, message: string): void {
    withRequestId(requestId, () => (ok ? this.logger.log(message) : this.logger.warn(message)));
  }
}
