import { Injectable } from '@nestjs/common';
import { TransactionLogService } from '../../audit/transaction-log.service';
import { callbackLabels, ResultKind } from '../../callbacks/callback-urls';
import { CallbackContext, CallbackHandler, InboundCallbacks, Parsed } from '../../callbacks/inbound-callbacks';
import { parseResultCallback, ParsedResult } from '../../mpesa/daraja-result.parser';
import { BalanceService } from '../../treasury/balance.service';
import { TransactionStatusService } from '../../treasury/transaction-status.service';
import { PayoutResultsService } from '../payout-results.service';
import { ReversalsService } from '../reversals/reversals.service';

/** `result`: the ResultURL; `timeout`: the QueueTimeOutURL (a timeout whatever its code says). */
export type ResultRoute = 'result' | 'timeout';

/**
 * Results of the initiator APIs (B2C, Account Balance, Reversal, Transaction Status) on ResultURL and QueueTimeOutURL,
 * dispatched by the kind their URL names. They take the same path as STK callbacks (InboundCallbacks).
 */
@Injectable()
export class ResultCallbacksService {
  constructor(
    private readonly callbacks: InboundCallbacks,
    private readonly transactionLog: TransactionLogService,
    private readonly payouts: PayoutResultsService,
    private readonly reversals: ReversalsService,
    private readonly balances: BalanceService,
    private readonly statusQueries: TransactionStatusService,
  ) {}

  /** The handler for a result of `kind` (undefined when the URL names no kind we hand out: the pipeline rejects it). */
  handlerFor(route: ResultRoute, kind: ResultKind | undefined): CallbackHandler<ParsedResult | undefined> {
    return {
      ...callbackLabels(route, kind),
      description: 'result callback',
      parse: (body) => this.parse(route, body),
      transactionIdOf: (result) => result?.originatorConversationId ?? null,
      apply: (result, context) => this.apply(route, kind as ResultKind, result, context),
    };
  }

  /** Safaricom documents no queue-timeout payload: whatever arrives there is a timeout, parsed or not. */
  private parse(route: ResultRoute, body: unknown): Parsed<ParsedResult | undefined> {
    const parsed = parseResultCallback(body);
    if (route === 'timeout') return { ok: true, value: parsed.ok ? parsed.value : undefined };
    return parsed;
  }

  private async apply(
    route: ResultRoute,
    kind: ResultKind,
    result: ParsedResult | undefined,
    context: CallbackContext,
  ): Promise<{ outcome: string }> {
    // Filed under the request whose Daraja call this answers (the admin's refund, the payout's job...): its row, audit
    // events and notification jobs; the callback's own request id stays on its log lines.
    const origin = await this.transactionLog.requestIdOfCall(result?.originatorConversationId, context.id);
    const outcome = await this.callbacks.inOrigin(context, origin, () =>
      route === 'timeout'
        ? this.applyTimeout(kind, context.id, result)
        : this.applyResult(kind, context.id, result as ParsedResult, context),
    );
    return { outcome };
  }

  private async applyResult(kind: ResultKind, id: string, result: ParsedResult, context: CallbackContext): Promise<string> {
    switch (kind) {
      case 'payout':
        return this.payouts.applyResult(id, result, context.actor);
      case 'balance':
        return this.balances.applyResult(id, result);
      case 'reversal':
        return this.reversals.applyResult(id, result, context.actor);
      case 'tstatus': {
        const query = await this.statusQueries.applyResult(id, result);
        if (!query) return 'duplicate';
        if (query.payoutId) await this.payouts.applyStatusResult(query.payoutId, result, context.actor);
        if (query.reversalId) await this.reversals.applyStatusResult(query.reversalId, result, context.actor);
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
}
