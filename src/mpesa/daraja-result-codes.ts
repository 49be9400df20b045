/**
 * STK result codes -> what they mean for a payment. Source for each line: docs/daraja.md §3.3
 * (Safaricom's D-STK page unless noted). Codes arrive as numbers in callbacks and as strings in queries,
 * and a few are not numeric at all (`SFC_IC0003`), so everything is normalised to a trimmed string first.
 */
export type StkOutcome = 'completed' | 'cancelled' | 'timeout' | 'failed';

const STK_OUTCOMES: Record<string, StkOutcome> = {
  '0': 'completed', // D-STK: "The service request is processed successfully."
  '1032': 'cancelled', // D-STK: "Request cancelled by user"
  '1031': 'cancelled', // EDL SDK + tinypesa capture: same description as 1032
  '1037': 'timeout', // D-STK: "DS timeout user cannot be reached." (the customer never answered)
};

export function normalizeResultCode(code: unknown): string | undefined {
  if (typeof code === 'number' && Number.isFinite(code)) return String(code);
  if (typeof code === 'string' && code.trim() !== '') return code.trim();
  return undefined;
}

/** Any code not listed (1, 2001, 1019, 2028, SFC_IC0003, unknown ones...) is a failure. */
export function stkOutcome(code: string): StkOutcome {
  return STK_OUTCOMES[code] ?? 'failed';
}

/** Daraja's older format prefixes descriptions with a tag such as `[STK_CB - ]`; it carries no meaning. */
export function cleanResultDesc(desc: unknown): string | undefined {
  if (typeof desc !== 'string') return undefined;
  return desc.replace(/^\[[^\]]*\]\s*/, '').trim() || undefined;
}

/**
 * What a B2C result means for a payout:
 * - `completed`: paid.
 * - `failed`: not paid, the result is final for this request. `retryable` says a new request (a new
 *   OriginatorConversationID) may succeed later without anyone changing anything; otherwise someone must act first
 *   (top up, fix the credential, grant a role...).
 * - `duplicate`: Daraja refused this request as a copy of an earlier one with the same OriginatorConversationID. It
 *   says nothing about the earlier one, which may have paid: confirm with Transaction Status, never pay again blindly.
 */
export interface B2cOutcome {
  outcome: 'completed' | 'failed' | 'duplicate';
  retryable: boolean;
  /** What the code means, from the reference; undefined for a code it does not list. */
  meaning?: string;
}

type CodeLine = [B2cOutcome['outcome'], boolean, string];

// One line per code; source: docs/daraja.md §5.4 (D-B2C page unless noted) and the generic initiator
// API codes listed on D-BAL.
const B2C_CODES: Record<string, CodeLine> = {
  '0': ['completed', false, 'The service request is processed successfully'],
  '1': ['failed', false, 'The balance is insufficient: top up the B2C Utility account'],
  '2': ['failed', false, 'Declined due to limit rule: less than the minimum transaction amount (KES 10)'],
  '3': ['failed', false, 'Declined due to limit rule: greater than the maximum transaction amount'],
  '4': ['failed', false, "Declined due to limit rule: would exceed the customer's daily transfer limit"],
  '7': ['failed', false, 'Receiver invalid'], // EDL SDK
  '8': ['failed', false, "Declined due to limit rule: would exceed the customer's maximum balance"],
  '11': ['failed', false, 'The DebitParty is in an invalid state (B2C account not active)'],
  '14': ['failed', false, 'Credit party invalid'], // EDL SDK
  '15': ['duplicate', false, 'Duplicate OriginatorConversationID / duplicate detected'], // EDL SDK; D-BAL "Duplicate Detected"
  '17': ['failed', true, 'System internal error'], // EDL SDK: retryable
  '18': ['failed', false, 'Initiator credential check failure'], // D-BAL
  '19': ['failed', false, 'Message sequencing failure'], // D-BAL
  '20': ['failed', false, 'Unresolved initiator'], // D-BAL
  '21': ['failed', false, 'The initiator is not allowed to initiate this request (missing the "ORG B2C API initiator" role)'],
  '22': ['failed', false, 'Initiator to receiver party permission failure'], // D-BAL
  '24': ['failed', false, 'Missing mandatory fields'], // D-BAL
  '25': ['failed', false, 'Invalid request parameters'], // D-BAL
  '26': ['failed', true, 'Traffic blocking condition in place'], // D-BAL
  '29': ['failed', false, 'Invalid command'], // D-BAL
  '2001': ['failed', false, 'The initiator information is invalid (initiator name, password or certificate)'],
  '2006': ['failed', false, 'Declined due to account rule: the account status does not allow this transaction'],
  '2007': ['failed', false, 'External validation failed'], // EDL SDK
  '2028': ['failed', false, 'The request is not permitted according to product assignment (shortcode lacks B2C)'],
  '2029': ['failed', true, 'Failed due to an unresolved reason type'], // EDL SDK: retryable
  '2040': ['failed', false, "Credit party customer type can't be supported by the service (recipient not registered)"],
  '2043': ['failed', false, 'This organization is not a child organization of the initiator'], // EDL SDK
  '2051': ['failed', false, 'MSISDN invalid'], // EDL SDK
  '8006': ['failed', false, 'The security credential is locked: the Business Administrator must unlock the API user'],
  SFC_IC0003: ['failed', false, 'The operator does not exist (invalid MSISDN)'],
  R002: ['failed', false, 'ID type mismatch'], // EDL SDK
  R003: ['failed', false, 'ID number mismatch'], // EDL SDK
};

/** Unlisted codes (platform errors 100000000..., new ones) are final failures, not retried automatically. */
export function b2cOutcome(code: string): B2cOutcome {
  const line = B2C_CODES[code];
  if (!line) return { outcome: 'failed', retryable: false };
  return { outcome: line[0], retryable: line[1], meaning: line[2] };
}

/**
 * What a reversal result means (docs/daraja.md §7, D-REV): `reversed` (the money went back), `already_reversed`
 * (R000001: it had gone back before; treat as done), or `failed`.
 */
export type ReversalOutcome = 'reversed' | 'already_reversed' | 'failed';

const REVERSAL_CODES: Record<string, [ReversalOutcome, string]> = {
  '0': ['reversed', 'The service request is processed successfully'],
  R000001: ['already_reversed', 'The transaction has already been reversed'],
  R000002: ['failed', 'The OriginalTransactionID is invalid'],
  '1': ['failed', 'Insufficient balance to reverse'],
  '11': ['failed', 'The DebitParty is in an invalid state'],
  '21': ['failed', 'The initiator is not allowed to reverse (missing the "Org Reversals Initiator" role)'],
  '2001': ['failed', 'The initiator information is invalid'],
  '2006': ['failed', 'Declined due to account rule'],
  '2028': ['failed', 'Not permitted according to product assignment'],
  '8006': ['failed', 'The security credential is locked'],
};

export function reversalOutcome(code: string): { outcome: ReversalOutcome; meaning?: string } {
  const line = REVERSAL_CODES[code];
  return line ? { outcome: line[0], meaning: line[1] } : { outcome: 'failed' };
}

/**
 * Transaction Status's `TransactionStatus` parameter (docs/daraja.md §8, D-TS FAQ 3): Completed is final-paid;
 * Cancelled, Declined and Expired are final-unpaid; Initiated and Authorized/Pending are still moving.
 */
export function transactionStatusState(status: string | undefined): 'completed' | 'failed' | 'pending' | 'unknown' {
  const s = (status ?? '').trim().toLowerCase();
  if (s === 'completed') return 'completed';
  if (['cancelled', 'canceled', 'declined', 'expired', 'failed'].includes(s)) return 'failed';
  if (s === 'initiated' || s.startsWith('authori') || s.includes('pending')) return 'pending';
  return 'unknown';
}
