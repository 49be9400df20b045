import { Injectable } from '@nestjs/common';
import { callbackLabels } from '../callbacks/callback-urls';
import { CallbackContext, CallbackHandler, CallbackRejection, InboundCallbacks, Parsed } from '../callbacks/inbound-callbacks';
import { PaymentSettlementService } from './payment-settlement.service';
import { ParsedStkCallback, parseStkCallback } from './stk-callback.parser';

/** An STK Push's result on its CallBackURL (`pid` names the payment): what it does to the payment. */
@Injectable()
export class StkCallbackService implements CallbackHandler<ParsedStkCallback> {
  readonly logType: string;
  readonly metricsKind: string;
  readonly actorId: string;
  readonly description = 'STK callback';

  constructor(
    private readonly callbacks: InboundCallbacks,
    private readonly settlement: PaymentSettlementService,
  ) {
    ({ logType: this.logType, metricsKind: this.metricsKind, actorId: this.actorId } = callbackLabels('stk', 'stk'));
  }

  parse(body: unknown): Parsed<ParsedStkCallback> {
    return parseStkCallback(body);
  }

  transactionIdOf(callback: ParsedStkCallback): string {
    return callback.checkoutRequestId;
  }

  async apply(callback: ParsedStkCallback, context: CallbackContext): Promise<{ outcome: string; logged: boolean }> {
    // One statement reads the payment and records the callback's receipt in the ledger (nothing when there is none).
    const payment = context.id ? await this.settlement.loadForCallback(context.id, callback, context.body) : null;
    if (!payment) throw new CallbackRejection('rejected_unknown', 'no such payment');
    // The callback's row, audit events and notification jobs are filed under the payment's request id (one id finds
    // the payment everywhere); the callback's own request id stays on its log lines, with the payment's beside it.
    return this.callbacks.inOrigin(context, payment.requestId, async () => {
      // A callback naming another CheckoutRequestID is not refused here: the URL's token proves it is about this payment,
      // and a success in it is evidence of money, which applyStkCallback keeps in a checkout_mismatch review (a 403 threw
      // it away, and Daraja does not send it again).
      // The log row of an applied callback is written by the settling statement itself (one round trip).
      const outcome = await this.settlement.applyStkCallback(payment, callback, context.body, context.actor, context.logRow('applied'));
      return { outcome, logged: outcome === 'applied' };
    });
  }
}
