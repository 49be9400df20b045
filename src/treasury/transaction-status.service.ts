import { Injectable } from '@nestjs/common';
import { Actor, AuditService } from '../audit/audit.service';
import { CallbackUrls } from '../callbacks/callback-urls';
import { NotFoundError } from '../common/errors/app-error';
import { redact, redactText } from '../common/redaction';
import { DarajaError, DarajaOutcome } from '../mpesa/daraja-errors';
import { unknownAnswerNote } from './balance.service';
import { ParsedResult } from '../mpesa/daraja-result.parser';
import { DarajaClient } from '../mpesa/daraja.client';
import { TransactionStatusQuery } from './transaction-status-query.entity';
import { TransactionStatusRepository } from './transaction-status.repository';

export interface StatusQueryRequest {
  transactionId?: string;
  originatorConversationId?: string;
  /** The payout a worker is trying to settle. */
  payoutId?: string;
  /** The reversal a worker is trying to settle. */
  reversalId?: string;
}

/** Transaction Status: asks Safaricom about any transaction and stores what it says. */
@Injectable()
export class TransactionStatusService {
  constructor(
    private readonly queries: TransactionStatusRepository,
    private readonly daraja: DarajaClient,
    private readonly callbackUrls: CallbackUrls,
    private readonly audit: AuditService,
  ) {}

  async query(request: StatusQueryRequest, actor: Actor): Promise<TransactionStatusQuery> {
    const query = await this.queries.insert({
      transactionId: request.transactionId ?? null,
      queriedConversationId: request.originatorConversationId ?? null,
      payoutId: request.payoutId ?? null,
      reversalId: request.reversalId ?? null,
      requestedBy: actor.id ?? actor.type,
    });
    await this.audit.record(actor, {
      action: 'transaction_status.requested',
      entityType: 'transaction_status_query',
      entityId: query.id,
      metadata: { ...request },
    });
    try {
      const accepted = await this.daraja.transactionStatus(
        {
          transactionId: request.transactionId,
          originatorConversationId: request.originatorConversationId,
          remarks: 'Transaction status',
          ...this.callbackUrls.resultUrls('tstatus', query.id),
        },
        {
          reference: request.payoutId ?? request.reversalId ?? query.id,
          requestId: actor.requestId ?? undefined,
          userId: actor.id ?? undefined,
        },
      );
      await this.queries.markAccepted(query.id, accepted.OriginatorConversationID, accepted.ConversationID);
    } catch (error) {
      if (!(error instanceof DarajaError)) throw error;
      if (error.outcome === DarajaOutcome.Unknown) {
        // As for Account Balance: pending until its result (evidence about a payout or reversal) or RESULT_WAIT_MAX_MS.
        await this.queries.settle(query.id, { status: 'pending', resultDesc: unknownAnswerNote(error) });
        return this.get(query.id);
      }
      await this.queries.settle(query.id, {
        status: 'failed',
        resultCode: error.errorCode,
        resultDesc: `M-Pesa did not accept the query: ${redactText(error.message)}`,
        completedAt: new Date(),
      });
    }
    return this.get(query.id);
  }

  /** Stores the result; returns the query (with its payout, if any) when this call applied it. */
  async applyResult(id: string, result: ParsedResult): Promise<TransactionStatusQuery | undefined> {
    const applied = await this.queries.settle(id, {
      status: 'completed',
      resultCode: result.resultCode,
      resultDesc: result.resultDesc,
      result: redact({ parameters: result.parameters, transactionId: result.transactionId }),
      completedAt: new Date(),
    });
    return applied ? this.get(id) : undefined;
  }

  async applyTimeout(id: string, result: ParsedResult | undefined): Promise<TransactionStatusQuery | undefined> {
    const applied = await this.queries.settle(id, {
      status: 'failed',
      resultCode: result?.resultCode ?? null,
      resultDesc: `Queue timeout: ${result?.resultDesc ?? 'M-Pesa did not process the query in time'}`,
      completedAt: new Date(),
    });
    return applied ? this.get(id) : undefined;
  }

  async get(id: string): Promise<TransactionStatusQuery> {
    const query = await this.queries.findById(id);
    if (!query) throw new NotFoundError('Transaction status query');
    return query;
  }
}
