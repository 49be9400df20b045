import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mpesaConfig } from '../config/configuration';

/** What an initiator API result is about; carried in its callback URLs. */
export type ResultKind = 'payout' | 'balance' | 'reversal' | 'tstatus';
export const RESULT_KINDS: readonly ResultKind[] = ['payout', 'balance', 'reversal', 'tstatus'];

/** What a callback URL is for: an STK push's result, an initiator API's result (by kind), or a C2B notification. */
export type CallbackKind = 'stk' | ResultKind | 'c2b';

/** The two C2B URLs registered for the shortcode (src/c2b); a C2B URL's token names which one it is. */
export type C2bRoute = 'validation' | 'confirmation';
export const C2B_ROUTES: readonly C2bRoute[] = ['validation', 'confirmation'];

/**
 * The routes Daraja posts to: the STK CallBackURL, the initiator APIs' ResultURL and QueueTimeOutURL, and the C2B
 * ValidationURL and ConfirmationURL.
 */
export type CallbackRoute = 'stk' | 'result' | 'timeout' | 'c2b_validation' | 'c2b_confirmation';

const LOG_TYPES: Record<ResultKind, string> = {
  payout: 'B2C',
  balance: 'ACCOUNT_BALANCE',
  reversal: 'REVERSAL',
  tstatus: 'TRANSACTION_STATUS',
};

/** How a callback is named in the transaction log, the metrics and the audit trail. */
export interface CallbackLabels {
  /** `transaction_logs.transaction_type`: STK_CALLBACK, B2C_RESULT, REVERSAL_TIMEOUT... */
  logType: string;
  /** The callback metrics' `kind` label: stk, b2c_result, account_balance_timeout... */
  metricsKind: string;
  /** Its audit actor id: stk-callback, payout-result, reversal-timeout... */
  actorId: string;
}

export function callbackLabels(route: CallbackRoute, kind: CallbackKind | undefined): CallbackLabels {
  if (route === 'stk') return { logType: 'STK_CALLBACK', metricsKind: 'stk', actorId: 'stk-callback' };
  if (route === 'c2b_validation' || route === 'c2b_confirmation') {
    return { logType: route.toUpperCase(), metricsKind: route, actorId: route.replace('_', '-') };
  }
  const logType = `${kind && kind !== 'stk' && kind !== 'c2b' ? LOG_TYPES[kind] : 'UNKNOWN'}_${route === 'timeout' ? 'TIMEOUT' : 'RESULT'}`;
  return { logType, metricsKind: logType.toLowerCase(), actorId: `${kind ?? 'unknown'}-${route}` };
}

/**
 * Daraja does not sign callbacks, so every URL we hand out names its row and carries HMAC(secret, kind:id):
 * unguessable, checked in constant time, and it ties the callback to our row even when it arrives before the
 * request's own HTTP response.
 */
@Injectable()
export class CallbackUrls {
  constructor(@Inject(mpesaConfig.KEY) private readonly settings: ConfigType<typeof mpesaConfig>) {}

  stkCallbackUrl(paymentId: string): string {
    const url = new URL(this.settings.stkCallbackUrl);
    url.searchParams.set('pid', paymentId);
    url.searchParams.set('token', this.tokenFor('stk', paymentId));
    return url.toString();
  }

  /** ResultURL and QueueTimeOutURL for an initiator API request (B2C, balance, reversal, transaction status). */
  resultUrls(kind: ResultKind, id: string): { resultUrl: string; queueTimeoutUrl: string } {
    const base = kind === 'payout' ? this.settings.b2cCallbackUrl : this.settings.resultUrl;
    return { resultUrl: this.withToken(base, kind, id), queueTimeoutUrl: this.withToken(this.settings.timeoutUrl, kind, id) };
  }

  /**
   * The C2B ValidationURL and ConfirmationURL to register for the shortcode (MPESA_C2B_VALIDATION_URL /
   * MPESA_C2B_CONFIRMATION_URL), each with its token. They name no row: one pair serves every payment, so the token
   * is bound to the route (`c2b:validation`, `c2b:confirmation`).
   */
  c2bUrls(): { validationUrl: string; confirmationUrl: string } {
    const { validationUrl, confirmationUrl } = this.settings.c2b;
    if (!validationUrl || !confirmationUrl) {
      throw new Error('No C2B URLs are configured: set MPESA_C2B_VALIDATION_URL and MPESA_C2B_CONFIRMATION_URL');
    }
    const withToken = (base: string, route: C2bRoute) => {
      const url = new URL(base);
      url.searchParams.set('token', this.tokenFor('c2b', route));
      return url.toString();
    };
    return { validationUrl: withToken(validationUrl, 'validation'), confirmationUrl: withToken(confirmationUrl, 'confirmation') };
  }

  verify(kind: CallbackKind, id: unknown, token: unknown): boolean {
    if (typeof id !== 'string' || typeof token !== 'string' || !id || !token) return false;
    const expected = Buffer.from(this.tokenFor(kind, id));
    const given = Buffer.from(token);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  private withToken(base: string, kind: ResultKind, id: string): string {
    if (!base)
      throw new Error(`No callback URL is configured for ${kind} results (MPESA_RESULT_URL / MPESA_B2C_CALLBACK_URL / MPESA_TIMEOUT_URL)`);
    const url = new URL(base);
    url.searchParams.set('kind', kind);
    url.searchParams.set('id', id);
    url.searchParams.set('token', this.tokenFor(kind, id));
    return url.toString();
  }

  // Hex, not base64url: a random base64 token can spell words Safaricom refuses in callback URLs (exe, cmd, sql).
  private tokenFor(kind: string, paymentId: string): string {
    return createHmac('sha256', this.settings.callbackSecret).update(`${kind}:${paymentId}`).digest('hex');
  }
}
