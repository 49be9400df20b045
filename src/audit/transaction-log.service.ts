import { Injectable } from '@nestjs/common';
import { InjectEntityManager } from '@nestjs/typeorm';
import { EntityManager } from 'typeorm';
import { redact } from '../common/redaction';
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

  async record(call: DarajaCallRecord): Promise<void> {
    await this.manager.insert(TransactionLog, {
      transactionId: call.transactionId ?? null,
      reference: call.context.reference ?? null,
      transactionType: call.api,
      endpoint: call.endpoint,
      requestData: call.request as object,
      responseData: call.response as object,
      statusCode: call.statusCode,
      duration: call.durationMs,
      outcome: call.outcome,
      userId: call.context.userId ?? null,
      requestId: call.context.requestId ?? null,
    });
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
