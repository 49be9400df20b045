import { Injectable } from '@nestjs/common';
import { InjectEntityManager } from '@nestjs/typeorm';
import { EntityManager } from 'typeorm';
import { Actor, AuditService } from '../audit/audit.service';
import { CallbackUrls } from '../common/callback-urls';
import { NotFoundError } from '../common/errors/app-error';
import { redact, redactText } from '../common/redaction';
import { DarajaError } from '../mpesa/daraja-errors';
import { ParsedResult } from '../mpesa/daraja-result.parser';
import { DarajaClient } from '../mpesa/daraja.client';
import { TransactionStatusQuery } from './transaction-status-query.entity';

export interface StatusQueryRequest {
  transactionId?: string;
  originatorConversationId?: string;
  /** The payout a worker is trying to settle. */
  payoutId?: string;
}

/** Transaction Status: asks Safaricom about any transaction and stores what it says. */
@Injectable()
export class TransactionStatusService {
  constructor(
    @InjectEntityManager() private readonly manager: EntityManager,
    private readonly daraja: DarajaClient,
    private readonly callbackUrls: CallbackUrls,
    private readonly audit: AuditService,
  ) {}

  async query(request: StatusQueryRequest, actor: Actor): Promise<TransactionStatusQuery> {
    const query = await this.manager.save(
      this.manager.create(TransactionStatusQuery, {
        status: 'pending',
        transactionId: request.transactionId ?? null,
        queriedConversationId: request.originatorConversationId ?? null,
        payoutId: request.payoutId ?? null,
        requestedBy: actor.id ?? actor.type,
      }),
    );
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
        { reference: request.payoutId ?? query.id, requestId: actor.requestId ?? undefined, userId: actor.id ?? undefined },
      );
      await this.manager.update(TransactionStatusQuery, { id: query.id, status: 'pending' }, {
        originatorConversationId: accepted.OriginatorConversationID,
        conversationId: accepted.ConversationID,
      });
    } catch (error) {
      if (!(error instanceof DarajaError)) throw error;
      await this.manager.update(TransactionStatusQuery, { id: query.id, status: 'pending' }, {
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
    const update = await this.manager.update(TransactionStatusQuery, { id, status: 'pending' }, {
      status: 'completed',
      resultCode: result.resultCode,
      resultDesc: result.resultDesc,
      result: redact({ parameters: result.parameters, transactionId: result.transactionId }),
      completedAt: new Date(),
    });
    return update.affected ? this.get(id) : undefined;
  }

  async applyTimeout(id: string, result: ParsedResult | undefined): Promise<TransactionStatusQuery | undefined> {
    const update = await this.manager.update(TransactionStatusQuery, { id, status: 'pending' }, {
      status: 'failed',
      resultCode: result?.resultCode ?? null,
      resultDesc: `Queue timeout: ${result?.resultDesc ?? 'M-Pesa did not process the query in time'}`,
      completedAt: new Date(),
    });
    return update.affected ? this.get(id) : undefined;
  }

  async get(id: string): Promise<TransactionStatusQuery> {
    const query = await this.manager.findOneBy(TransactionStatusQuery, { id });
    if (!query) throw new NotFoundError('Transaction status query');
    return query;
  }
}
