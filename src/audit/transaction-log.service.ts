import { Injectable, Logger } from '@nestjs/common';
import { redact } from '../common/redaction';
import { currentRequestId, withRequestId } from '../common/request-context';
import { Database, Tx } from '../database/database';
import { json, Sql, sql } from '../database/sql';
import { DarajaCallObserver, DarajaCallRecord } from '../mpesa/daraja.types';

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
 * The Daraja transaction log, and the only writer of `transaction_logs`: every outbound call (as the Daraja client's
 * call observer) and every callback received, each row and log line filed under the request id of the payment or
 * payout it is about.
 */
@Injectable()
export class TransactionLogService implements DarajaCallObserver {
  private readonly logger = new Logger(TransactionLogService.name);

  constructor(private readonly db: Database) {}

  async record(call: DarajaCallRecord): Promise<void> {
    // A caller that names no request id (the OAuth fetch, a worker's balance check) is working for the current one.
    const requestId = call.context.requestId ?? currentRequestId();
    this.log(
      requestId,
      call.outcome === 'ok',
      `Daraja ${call.api} ${call.endpoint}: ${call.outcome}, HTTP ${call.statusCode ?? '-'}, ${call.durationMs} ms${call.context.reference ? `, reference ${call.context.reference}` : ''}`,
    );
    if (!call.storedByCaller) await this.db.query(this.outboundSql(call));
  }

  /**
   * An outbound call's row as part of the caller's statement (DarajaCallContext.storeAnswered); if that statement
   * fails or never runs, `storeUnstored` writes it on its own.
   */
  outboundSql(call: DarajaCallRecord): Sql {
    const requestId = call.context.requestId ?? currentRequestId();
    return sql`INSERT INTO transaction_logs (transaction_id, reference, transaction_type, endpoint, request_data, response_data,
                                     status_code, duration, outcome, user_id, request_id)
       VALUES (${call.transactionId ?? null}, ${call.context.reference ?? null}, ${call.api}, ${call.endpoint}, ${json(call.request)},
               ${json(call.response)}, ${call.statusCode}, ${call.durationMs}, ${call.outcome}, ${call.context.userId ?? null}, ${requestId ?? null})`;
  }

  /** Stores the row of a call whose caller was to store it but could not (its own statement failed or never ran). */
  async storeUnstored(call: DarajaCallRecord): Promise<void> {
    await this.db.query(this.outboundSql(call));
  }

  /** Writes a callback's row (and its log line) on its own or in the caller's transaction. */
  async recordInbound(entry: InboundCallbackLog, tx?: Tx): Promise<void> {
    this.logReceived(entry);
    await this.db.query(this.inboundSql(entry), tx);
  }

  /**
   * A callback's row as part of the caller's statement (the settlement it caused); `when` makes it conditional.
   * The caller logs the line with `logReceived` once the statement committed.
   */
  inboundSql(entry: InboundCallbackLog, when: Sql = sql`TRUE`): Sql {
    return sql`INSERT INTO transaction_logs (transaction_id, reference, transaction_type, endpoint, request_data, status_code,
                                     duration, outcome, ip_address, user_agent, request_id)
      SELECT ${entry.transactionId ?? null}, ${entry.reference ?? null}, ${entry.transactionType}, ${entry.endpoint},
             ${json(redact(entry.payload))}::jsonb, ${entry.statusCode}::int, ${entry.durationMs}::int, ${entry.outcome},
             ${entry.ipAddress ?? null}, ${entry.userAgent?.slice(0, 255) ?? null}, ${entry.requestId ?? currentRequestId() ?? null}
       WHERE ${when}
      RETURNING id`;
  }

  /**
   * The request id of the Daraja call a callback answers: by the id Daraja echoes (CheckoutRequestID,
   * OriginatorConversationID) or by our own reference in the callback URL.
   */
  async requestIdOfCall(transactionId: string | null | undefined, reference: string | null | undefined): Promise<string | undefined> {
    if (!transactionId && !reference) return undefined;
    const row = await this.db.one<{ request_id: string }>(
      sql`SELECT request_id FROM transaction_logs
           WHERE (transaction_id = ${transactionId ?? null} OR reference = ${reference ?? null})
             AND transaction_type = ANY(${CALLS_ANSWERED_BY_CALLBACK}) AND request_id IS NOT NULL
           ORDER BY id LIMIT 1`,
    );
    return row?.request_id;
  }

  /** Replaces stored bodies (personal data scrubbed, src/privacy); only rows whose bodies change are written. */
  async rewriteBodies(tx: Tx, rows: { id: string; request: unknown; response: unknown }[]): Promise<number> {
    if (!rows.length) return 0;
    const changed = await this.db.query(
      sql`UPDATE transaction_logs t SET request_data = NULLIF(v.request, 'null'::jsonb), response_data = NULLIF(v.response, 'null'::jsonb)
            FROM jsonb_to_recordset(${json(rows)}::jsonb) AS v(id bigint, request jsonb, response jsonb)
           WHERE t.id = v.id AND (t.request_data IS DISTINCT FROM NULLIF(v.request, 'null'::jsonb)
                               OR t.response_data IS DISTINCT FROM NULLIF(v.response, 'null'::jsonb))
           RETURNING t.id`,
      tx,
    );
    return changed.length;
  }

  /** The log line of a callback (written by recordInbound; by the caller when the row went in with inboundSql). */
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
