/**
 * STK result codes -> what they mean for a payment. Source for each line: shared/daraja/reference.md §3.3
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
