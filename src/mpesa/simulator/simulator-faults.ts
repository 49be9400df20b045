import {
  alreadyRegistered,
  badGatewayHtml,
  DarajaReply,
  duplicateOriginatorConversationId,
  internalServerError,
  invalidAccessTokenFor,
  invalidCredentials,
  invalidField,
  invalidGrantType,
  pullFailureInside200,
  quotaViolation,
  spikeArrest,
  subscriberLocked,
  systemBusy,
} from './daraja-errors';

/** `b2c` covers both B2C versions (v1 and v3), `c2bregister` and `c2bsimulate` both C2B versions (v1 and v2). */
export const SIMULATED_ENDPOINTS = [
  'oauth',
  'stkpush',
  'stkquery',
  'b2c',
  'balance',
  'reversal',
  'transactionstatus',
  'c2bregister',
  'c2bsimulate',
  'pullregister',
  'pullquery',
] as const;
export type SimulatedEndpoint = (typeof SIMULATED_ENDPOINTS)[number];

export const FAULT_KINDS = [
  'system_busy',
  'spike_arrest',
  'quota_violation',
  'internal_error',
  'reset',
  'reset_after_processing',
  'delay',
  'invalid_token',
  'internal_error_after_processing',
  'html_error',
  'html_after_processing',
  'subscriber_locked',
  'other_checkout',
  'invalid_checkout',
  'no_result',
  'duplicate_originator',
  'bad_request',
  'already_registered',
  'pull_error',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** The kinds that make sense on some endpoints only; every other kind applies to all of them. */
export const FAULT_ENDPOINTS: Partial<Record<FaultKind, readonly SimulatedEndpoint[]>> = {
  subscriber_locked: ['stkpush'],
  other_checkout: ['stkquery'],
  invalid_checkout: ['stkquery'],
  no_result: ['b2c', 'reversal', 'balance', 'transactionstatus', 'c2bsimulate'],
  duplicate_originator: ['b2c'],
  already_registered: ['c2bregister'],
  pull_error: ['pullquery'],
};

export function faultAppliesTo(kind: FaultKind, endpoint: SimulatedEndpoint): boolean {
  return FAULT_ENDPOINTS[kind]?.includes(endpoint) ?? true;
}

/** One queued fault, consumed by the next request to its endpoint (LPOP, so exactly one process gets it). */
export interface SimulatorFault {
  kind: FaultKind;
  delayMs?: number;
}

/** Long enough to outlast the app's 30 s Daraja timeout by default. */
export const DEFAULT_FAULT_DELAY_MS = 35_000;

/**
 * Faults that change how a request is processed rather than how it is answered; the endpoint's service method
 * receives the variant:
 * - `other_checkout` (STK Query): a well-formed success naming another CheckoutRequestID;
 * - `no_result` (B2C, Reversal, Balance, Transaction Status): accepted and stored as usual, but neither the result
 *   nor the queue timeout is ever sent; (C2B simulate): the payment completes, but neither validation nor
 *   confirmation is ever sent, as when no URLs are registered.
 */
export type ProcessingVariant = 'other_checkout' | 'no_result';

/**
 * What a fault does to a request:
 * - `before`: `answer` with this reply, or `drop` the socket, without processing;
 * - `during`: process with a variant (see ProcessingVariant) and answer what that processing answers;
 * - `after`: process fully (state stored, callbacks scheduled), then `drop`, answer late (`delay`) or `answer`
 *   this reply instead of the real one.
 */
export type FaultEffect =
  | { when: 'before'; action: 'answer'; reply: DarajaReply }
  | { when: 'before'; action: 'drop' }
  | { when: 'during'; variant: ProcessingVariant }
  | { when: 'after'; action: 'drop' }
  | { when: 'after'; action: 'delay'; delayMs: number }
  | { when: 'after'; action: 'answer'; reply: DarajaReply };

export function faultEffect(endpoint: SimulatedEndpoint, fault: SimulatorFault): FaultEffect {
  switch (fault.kind) {
    case 'system_busy':
      return { when: 'before', action: 'answer', reply: systemBusy() };
    case 'spike_arrest':
      return { when: 'before', action: 'answer', reply: spikeArrest() };
    case 'quota_violation':
      return { when: 'before', action: 'answer', reply: quotaViolation() };
    case 'internal_error':
      return { when: 'before', action: 'answer', reply: internalServerError() };
    case 'invalid_token':
      // OAuth has no token to reject: the nearest thing is Daraja's bad-credentials answer.
      return { when: 'before', action: 'answer', reply: endpoint === 'oauth' ? invalidCredentials() : invalidAccessTokenFor(endpoint) };
    case 'reset':
      return { when: 'before', action: 'drop' };
    case 'reset_after_processing':
      return { when: 'after', action: 'drop' };
    case 'delay':
      return { when: 'after', action: 'delay', delayMs: fault.delayMs ?? DEFAULT_FAULT_DELAY_MS };
    case 'internal_error_after_processing':
      // The very answer `internal_error` gives: a client cannot tell "processed" from "not processed" by it.
      return { when: 'after', action: 'answer', reply: internalServerError() };
    case 'html_error':
      return { when: 'before', action: 'answer', reply: badGatewayHtml() };
    case 'html_after_processing':
      // 502, not 200: a proxy that lost the upstream's answer says so in its status as well as in its page.
      return { when: 'after', action: 'answer', reply: badGatewayHtml() };
    case 'subscriber_locked':
      return { when: 'before', action: 'answer', reply: subscriberLocked() };
    case 'invalid_checkout':
      // docs/daraja.md §2.4: Daraja names the rejected field; the simulator answers an unknown id the same way.
      return { when: 'before', action: 'answer', reply: invalidField('CheckoutRequestID') };
    case 'duplicate_originator':
      // Refused before the id is claimed, so a resend with the same id is then accepted as new.
      return { when: 'before', action: 'answer', reply: duplicateOriginatorConversationId() };
    case 'bad_request':
      // A synchronous refusal that will not change by resending (400.002.02), naming a field the endpoint checks.
      return { when: 'before', action: 'answer', reply: endpoint === 'oauth' ? invalidGrantType() : invalidField(REFUSED_FIELD[endpoint]) };
    case 'already_registered':
      // What production answers a second registration (docs/daraja.md §9.2); nothing is stored.
      return { when: 'before', action: 'answer', reply: alreadyRegistered() };
    case 'pull_error':
      // A failure code inside HTTP 200 (docs/daraja.md §17.5): only a client that reads ResponseCode notices.
      return { when: 'before', action: 'answer', reply: pullFailureInside200() };
    case 'other_checkout':
    case 'no_result':
      return { when: 'during', variant: fault.kind };
  }
}

/**
 * The field each endpoint's `bad_request` names: one the simulator's own checks can reject. Reversal's is the refusal
 * Safaricom really sends for a correctly spelled `ReceiverIdentifierType` (docs/daraja.md §7).
 */
const REFUSED_FIELD: Record<Exclude<SimulatedEndpoint, 'oauth'>, string> = {
  stkpush: 'PhoneNumber',
  stkquery: 'CheckoutRequestID',
  b2c: 'PartyB',
  balance: 'IdentifierType',
  reversal: 'RecieverIdentifierType',
  transactionstatus: 'TransactionID',
  c2bregister: 'ConfirmationURL',
  c2bsimulate: 'Msisdn',
  pullregister: 'NominatedNumber',
  pullquery: 'StartDate',
};
