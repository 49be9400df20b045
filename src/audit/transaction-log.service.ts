import { Injectable } from '@nestjs/common';
import { InjectEntityManager } from '@nestjs/typeorm';
import { EntityManager } from 'typeorm';
import { redact } from '../common/redaction';
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
  requestId?: string | null;
}

/** The Daraja transaction log: every outbound call (as the call observer) and every callback received. */
@Injectable()
export class TransactionLogService implements DarajaCallObserver {
  constructor(@InjectEntityManager() private readonly manager: EntityManager) {}

  // Raw and prepared: one of these is written for every Daraja call.
  async record(call: DarajaCallRecord): Promise<void> {
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
        call.context.requestId ?? null,
      ],
    );
  }

  async recordInbound(entry: InboundCallbackLog, manager: EntityManager = this.manager): Promise<void> {
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
      requestId: entry.requestId ?? null,
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
      request_id: entry.requestId ?? null,
    };
  }
}
