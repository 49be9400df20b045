import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { callbackLabels } from '../callbacks/callback-urls';
import { CallbackContext, CallbackHandler, InboundCallback, InboundCallbacks, Parsed } from '../callbacks/inbound-callbacks';
import { mpesaConfig } from '../config/configuration';
import { IncomingPayments } from '../payments/incoming-payments.service';
import { C2B_ACCEPT, C2B_INVALID_ACCOUNT, C2B_INVALID_AMOUNT, C2bValidationAnswer } from './c2b-answers';
import { C2bNotification, parseC2bValidation } from './c2b-notification.parser';

/**
 * M-Pesa waits about 8 s for a validation answer, network included, then applies the registered ResponseType
 * (docs/daraja.md §9.4): the decision gets at most this long; past it, the payment is accepted and sorted out on
 * confirmation. The transaction-log row is written after the answer, never before it.
 */
export const VALIDATION_DEADLINE_MS = 1_500;

/**
 * C2B validation (only called when Safaricom enabled external validation on the shortcode). `lenient` (default)
 * accepts everything: what does not match a bill becomes an `unmatched_payment` review on confirmation. `strict`
 * refuses an amount below 1 shilling (C2B00013) and an account number that names neither an open bill nor one of
 * our pushes of the last minutes (C2B00012): STK payments reach this URL too, and refusing one would cancel it.
 * Whatever happens (a slow or failing database included), the answer leaves within VALIDATION_DEADLINE_MS.
 */
@Injectable()
export class C2bValidationService implements CallbackHandler<C2bNotification, C2bValidationAnswer> {
  private readonly logger = new Logger(C2bValidationService.name);
  readonly logType: string;
  readonly metricsKind: string;
  readonly actorId: string;
  readonly description = 'C2B validation';

  constructor(
    private readonly callbacks: InboundCallbacks,
    private readonly incoming: IncomingPayments,
    @Inject(mpesaConfig.KEY) private readonly settings: ConfigType<typeof mpesaConfig>,
  ) {
    ({ logType: this.logType, metricsKind: this.metricsKind, actorId: this.actorId } = callbackLabels('c2b_validation', 'c2b'));
  }

  /** The pipeline (gate, parse, decide, log) raced against the deadline; the pipeline finishes its log row regardless. */
  async validate(inbound: InboundCallback): Promise<C2bValidationAnswer> {
    const handled = this.callbacks.handle(inbound, this);
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<C2bValidationAnswer>((resolve) => {
      timer = setTimeout(() => {
        this.logger.warn(`C2B validation undecided after ${VALIDATION_DEADLINE_MS} ms: accepted (the confirmation sorts it out)`);
        resolve(C2B_ACCEPT);
      }, VALIDATION_DEADLINE_MS);
    });
    // The loser of the race must not surface as an unhandled rejection.
    handled.catch(() => undefined);
    try {
      return (await Promise.race([handled, deadline])) as C2bValidationAnswer;
    } finally {
      clearTimeout(timer);
    }
  }

  parse(body: unknown): Parsed<C2bNotification> {
    return parseC2bValidation(body);
  }

  transactionIdOf(notification: C2bNotification): string | null {
    return notification.transId || null;
  }

  async apply(n: C2bNotification, _context: CallbackContext): Promise<{ outcome: string; answer: C2bValidationAnswer }> {
    if (this.settings.c2b.validation === 'lenient') return { outcome: 'accepted', answer: C2B_ACCEPT };
    if (n.amount === undefined || n.amount < 1) return { outcome: 'refused_amount', answer: C2B_INVALID_AMOUNT };
    try {
      if (await this.incoming.recognisesAccountNumber(n.billRefNumber || null)) return { outcome: 'accepted', answer: C2B_ACCEPT };
      return { outcome: 'refused_account', answer: C2B_INVALID_ACCOUNT };
    } catch (error) {
      // Refusing money because our own database is down would fail the customer's payment: accept, sort it out later.
      this.logger.error(`C2B validation could not look up "${n.billRefNumber}": ${String(error)}; accepted`);
      return { outcome: 'accepted_unchecked', answer: C2B_ACCEPT };
    }
  }
}
