import {
  DarajaReply,
  internalServerError,
  invalidAccessToken,
  invalidCredentials,
  quotaViolation,
  spikeArrest,
  systemBusy,
} from './daraja-errors';

/** `b2c` covers both B2C versions (v1 and v3). */
export const SIMULATED_ENDPOINTS = ['oauth', 'stkpush', 'stkquery', 'b2c', 'balance', 'reversal', 'transactionstatus'] as const;
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
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** One queued fault, consumed by the next request to its endpoint (LPOP, so exactly one process gets it). */
export interface SimulatorFault {
  kind: FaultKind;
  delayMs?: number;
}

/** Long enough to outlast the app's 30 s Daraja timeout by default. */
export const DEFAULT_FAULT_DELAY_MS = 35_000;

/**
 * What a fault does to a request:
 * - `answer`: reply with this instead of processing;
 * - `drop`: destroy the socket without processing;
 * - `drop_after` / `delay_after`: process fully (state stored, callbacks scheduled), then drop or answer late.
 */
export type FaultEffect =
  | { when: 'before'; action: 'answer'; reply: DarajaReply }
  | { when: 'before'; action: 'drop' }
  | { when: 'after'; action: 'drop' }
  | { when: 'after'; action: 'delay'; delayMs: number };

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
      return { when: 'before', action: 'answer', reply: endpoint === 'oauth' ? invalidCredentials() : invalidAccessToken() };
    case 'reset':
      return { when: 'before', action: 'drop' };
    case 'reset_after_processing':
      return { when: 'after', action: 'drop' };
    case 'delay':
      return { when: 'after', action: 'delay', delayMs: fault.delayMs ?? DEFAULT_FAULT_DELAY_MS };
  }
}
