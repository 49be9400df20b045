import { Injectable, Logger } from '@nestjs/common';
import { callbackLabels } from '../callbacks/callback-urls';
import { CallbackContext, CallbackHandler, Parsed } from '../callbacks/inbound-callbacks';
import { IncomingNotPlacedError, IncomingPayments } from '../payments/incoming-payments.service';
import { C2B_CONFIRMED, C2bConfirmationAnswer } from './c2b-answers';
import { C2bNotification, parseC2bConfirmation } from './c2b-notification.parser';

/**
 * A C2B confirmation: money that has moved (docs/daraja.md §9.8: a non-zero answer undoes nothing). It goes the one
 * way all incoming money goes (IncomingPayments, source `c2b_confirmation`): applied once per TransID, a repeat
 * changes nothing and is answered the same. Answered `{"ResultCode":0,"ResultDesc":"Success"}` once stored.
 */
@Injectable()
export class C2bConfirmationService implements CallbackHandler<C2bNotification, C2bConfirmationAnswer> {
  private readonly logger = new Logger(C2bConfirmationService.name);
  readonly logType: string;
  readonly metricsKind: string;
  readonly actorId: string;
  readonly description = 'C2B confirmation';

  constructor(private readonly incoming: IncomingPayments) {
    ({ logType: this.logType, metricsKind: this.metricsKind, actorId: this.actorId } = callbackLabels('c2b_confirmation', 'c2b'));
  }

  parse(body: unknown): Parsed<C2bNotification> {
    return parseC2bConfirmation(body);
  }

  transactionIdOf(notification: C2bNotification): string {
    return notification.transId;
  }

  async apply(n: C2bNotification, context: CallbackContext): Promise<{ outcome: string; answer: C2bConfirmationAnswer }> {
    try {
      const result = await this.incoming.ingest(
        {
          receipt: n.transId,
          amount: n.amount as number,
          // TransTime is Kenya time (docs/daraja.md §9.5); an unreadable one is not worth losing the money over.
          occurredAt: n.transTime ?? new Date(),
          accountReference: n.billRefNumber || null,
          msisdn: n.msisdn || null,
          payerName: n.payerName,
          shortCode: n.shortCode || null,
          transactionType: n.transactionType || null,
          payload: context.body,
        },
        'c2b_confirmation',
        context.actor,
      );
      return { outcome: result.outcome, answer: C2B_CONFIRMED };
    } catch (error) {
      // Stored in the ledger, not placed: the next delivery or Pull run places it. The confirmation was received.
      if (error instanceof IncomingNotPlacedError) {
        this.logger.error(error.message);
        return { outcome: 'stored_unplaced', answer: C2B_CONFIRMED };
      }
      throw error;
    }
  }
}
