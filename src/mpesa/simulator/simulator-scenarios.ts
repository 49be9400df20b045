import type { SimulatorSettings } from '../../config/configuration';

/** What the simulated customer does with the STK prompt. */
export type StkOutcome =
  | 'success'
  | 'insufficient_funds'
  | 'cancelled_by_user'
  | 'wrong_pin'
  | 'no_answer'
  | 'duplicate_callbacks'
  | 'late_callback'
  | 'callback_before_response'
  | 'no_callback'
  | 'processed_internal_error';

/** When the transaction settles (query stops saying "being processed", the subscriber lock lifts). */
export type SettleClock = 'callback_delay' | 'late_callback' | 'no_answer' | 'immediately';

/** How the callback reaches `CallBackURL`. Deliveries happen at the settle time unless `before_response`. */
export type CallbackPlan = 'once' | 'three_times' | 'before_response' | 'never';

export interface StkScenario {
  /** The `PhoneNumber` that triggers it; `null` for the default (any other valid number). */
  phone: string | null;
  outcome: StkOutcome;
  resultCode: StkResultCode;
  settles: SettleClock;
  callbacks: CallbackPlan;
  /**
   * The push's own HTTP answer: the acknowledgement (default) or, for `internal_error`, the `internal_error`
   * fault's 500 envelope, although the push was processed in full.
   */
  response?: 'internal_error';
  /** One line for the README table. */
  summary: string;
}

/** ResultDesc texts as Daraja sends them (docs/daraja.md §3.3). */
export const STK_RESULT_DESCRIPTIONS = {
  0: 'The service request is processed successfully.',
  1: 'The balance is insufficient for the transaction.',
  1032: 'Request cancelled by user',
  1037: 'DS timeout user cannot be reached.',
  2001: 'The initiator information is invalid.',
} as const;

export type StkResultCode = keyof typeof STK_RESULT_DESCRIPTIONS;

/** Gap between the repeated deliveries of the `three_times` plan. */
export const DUPLICATE_CALLBACK_GAP_MS = 50;

export const DEFAULT_STK_SCENARIO: StkScenario = {
  phone: null,
  outcome: 'success',
  resultCode: 0,
  settles: 'callback_delay',
  callbacks: 'once',
  summary: 'any other valid number: success like 254708374149',
};

/** The phone table: data, so tests and the README print exactly what the simulator does. */
export const STK_SCENARIOS: readonly StkScenario[] = [
  {
    phone: '254708374149',
    outcome: 'success',
    resultCode: 0,
    settles: 'callback_delay',
    callbacks: 'once',
    summary: 'success, callback after SIMULATOR_CALLBACK_DELAY_MS',
  },
  {
    phone: '254700000001',
    outcome: 'insufficient_funds',
    resultCode: 1,
    settles: 'callback_delay',
    callbacks: 'once',
    summary: 'insufficient funds, ResultCode 1',
  },
  {
    phone: '254700001032',
    outcome: 'cancelled_by_user',
    resultCode: 1032,
    settles: 'callback_delay',
    callbacks: 'once',
    summary: 'cancelled by user, ResultCode 1032',
  },
  {
    phone: '254700002001',
    outcome: 'wrong_pin',
    resultCode: 2001,
    settles: 'callback_delay',
    callbacks: 'once',
    summary: 'wrong PIN, ResultCode 2001',
  },
  {
    phone: '254700001037',
    outcome: 'no_answer',
    resultCode: 1037,
    settles: 'no_answer',
    callbacks: 'never',
    summary: 'no answer: no callback ever; query says "being processed" until SIMULATOR_NO_ANSWER_MS, then ResultCode 1037',
  },
  {
    phone: '254700000002',
    outcome: 'duplicate_callbacks',
    resultCode: 0,
    settles: 'callback_delay',
    callbacks: 'three_times',
    summary: `success, callback delivered 3 times (same body, ${DUPLICATE_CALLBACK_GAP_MS} ms apart)`,
  },
  {
    phone: '254700000003',
    outcome: 'late_callback',
    resultCode: 0,
    settles: 'late_callback',
    callbacks: 'once',
    summary: 'success, callback delivered late: after SIMULATOR_LATE_CALLBACK_MS',
  },
  {
    phone: '254700000004',
    outcome: 'callback_before_response',
    resultCode: 0,
    settles: 'immediately',
    callbacks: 'before_response',
    summary: "success, callback delivered (and awaited) before the push's HTTP response is sent",
  },
  {
    phone: '254700000005',
    outcome: 'no_callback',
    resultCode: 0,
    settles: 'callback_delay',
    callbacks: 'never',
    summary: 'success but no callback ever: only the query tells (settled after SIMULATOR_CALLBACK_DELAY_MS)',
  },
  {
    // The subscriber lock (held until the push settles) is what answers the resends.
    phone: '254700000006',
    outcome: 'processed_internal_error',
    resultCode: 0,
    settles: 'late_callback',
    callbacks: 'once',
    response: 'internal_error',
    summary:
      'processed (prompt sent, success callback after SIMULATOR_LATE_CALLBACK_MS) but answered HTTP 500 500.003.1001; ' +
      'every later push to the number until then answers 500.001.1001 "Unable to lock subscriber"',
  },
];

const BY_PHONE = new Map(STK_SCENARIOS.map((s) => [s.phone, s]));

export function stkScenarioFor(phone: string): StkScenario {
  return BY_PHONE.get(phone) ?? DEFAULT_STK_SCENARIO;
}

export type SimulatorTimings = Pick<SimulatorSettings, 'callbackDelayMs' | 'lateCallbackMs' | 'noAnswerMs'>;

/** Milliseconds after the push at which the transaction settles. */
export function settleDelayMs(scenario: StkScenario, timings: SimulatorTimings): number {
  switch (scenario.settles) {
    case 'callback_delay':
      return timings.callbackDelayMs;
    case 'late_callback':
      return timings.lateCallbackMs;
    case 'no_answer':
      return timings.noAnswerMs;
    case 'immediately':
      return 0;
  }
}

/** Milliseconds after the push at which each timed callback is sent; `before_response` is sent inline, not here. */
export function callbackDelaysMs(scenario: StkScenario, timings: SimulatorTimings): number[] {
  const at = settleDelayMs(scenario, timings);
  switch (scenario.callbacks) {
    case 'once':
      return [at];
    case 'three_times':
      // Separate timers, not a loop of awaits: the duplicates may overlap like Daraja's do.
      return [at, at + DUPLICATE_CALLBACK_GAP_MS, at + 2 * DUPLICATE_CALLBACK_GAP_MS];
    case 'before_response':
    case 'never':
      return [];
  }
}

// ---- B2C (money out) ----

/** What happens to a simulated B2C payout. */
export type B2cOutcome =
  | 'success'
  | 'insufficient_funds'
  | 'initiator_invalid'
  | 'queue_timeout_not_paid'
  | 'queue_timeout_paid'
  | 'no_result'
  | 'not_found_then_paid'
  | 'receiver_mismatch';

/** Which of the two URLs hears about it (after SIMULATOR_CALLBACK_DELAY_MS); `none`: only Transaction Status tells. */
export type B2cDelivery = 'result' | 'queue_timeout' | 'none';

/** ResultDesc texts as Daraja sends them (docs/daraja.md §5.4). */
export const B2C_RESULT_DESCRIPTIONS = {
  0: 'The service request is processed successfully.',
  1: 'The balance is insufficient for the transaction.',
  2001: 'The initiator information is invalid.',
} as const;

export type B2cResultCode = keyof typeof B2C_RESULT_DESCRIPTIONS;

export interface B2cScenario {
  /** The `PartyB` that triggers it; `null` for the default (any other valid number). */
  phone: string | null;
  outcome: B2cOutcome;
  /** Whether the money left the Utility account (what Transaction Status and the control API report). */
  paid: boolean;
  delivery: B2cDelivery;
  /** The Result's code when `delivery` is `result`; a paid payout's is 0 even when nobody is told. */
  resultCode: B2cResultCode | null;
  /** How many Transaction Status queries that find the paid payout answer 2033 (not found) before it shows. */
  statusMisses?: number;
  /** The MSISDN the money reached when it is not PartyB (result and Transaction Status name it). */
  receiver?: string;
  /** One line for the README table. */
  summary: string;
}

export const DEFAULT_B2C_SCENARIO: B2cScenario = {
  phone: null,
  outcome: 'success',
  paid: true,
  delivery: 'result',
  resultCode: 0,
  summary: 'any other valid number: success like 254708374149',
};

/** The PartyB table: data, so tests and the README print exactly what the simulator does. */
export const B2C_SCENARIOS: readonly B2cScenario[] = [
  {
    phone: '254708374149',
    outcome: 'success',
    paid: true,
    delivery: 'result',
    resultCode: 0,
    summary: 'paid; result (ResultCode 0, receipt, balances) after SIMULATOR_CALLBACK_DELAY_MS',
  },
  {
    phone: '254700000001',
    outcome: 'insufficient_funds',
    paid: false,
    delivery: 'result',
    resultCode: 1,
    summary: 'not paid; result ResultCode 1 "The balance is insufficient for the transaction."',
  },
  {
    phone: '254700002001',
    outcome: 'initiator_invalid',
    paid: false,
    delivery: 'result',
    resultCode: 2001,
    summary: 'not paid; result ResultCode 2001 "The initiator information is invalid."',
  },
  {
    phone: '254700000010',
    outcome: 'queue_timeout_not_paid',
    paid: false,
    delivery: 'queue_timeout',
    resultCode: null,
    summary: 'not paid; only QueueTimeOutURL is called; Transaction Status answers 2033 (not found)',
  },
  {
    phone: '254700000011',
    outcome: 'queue_timeout_paid',
    paid: true,
    delivery: 'queue_timeout',
    resultCode: 0,
    summary: 'PAID, yet only QueueTimeOutURL is called (no result); Transaction Status shows it Completed with its receipt',
  },
  {
    phone: '254700000012',
    outcome: 'no_result',
    paid: true,
    delivery: 'none',
    resultCode: 0,
    summary: 'PAID, and neither URL is ever called; only Transaction Status shows it Completed',
  },
  {
    phone: '254700000007',
    outcome: 'not_found_then_paid',
    paid: true,
    delivery: 'none',
    resultCode: 0,
    statusMisses: 2,
    summary: 'PAID, neither URL is ever called; Transaction Status answers 2033 (not found) twice, then Completed with its receipt',
  },
  {
    phone: '254700000008',
    outcome: 'receiver_mismatch',
    paid: true,
    delivery: 'result',
    resultCode: 0,
    receiver: '254705912645',
    summary: "paid; result ResultCode 0 whose ReceiverPartyPublicName names 254705912645 (Transaction Status's CreditPartyName too)",
  },
];

/**
 * Not in the phone table: a SecurityCredential that decrypts to the wrong password is accepted, then fails
 * with 2001 whatever PartyB is, as Daraja does (docs/daraja.md §5.4).
 */
export const B2C_WRONG_PASSWORD_SCENARIO: B2cScenario = {
  phone: null,
  outcome: 'initiator_invalid',
  paid: false,
  delivery: 'result',
  resultCode: 2001,
  summary: 'any PartyB with a credential that decrypts to the wrong initiator password: ResultCode 2001, not paid',
};

/**
 * Not in the phone table: a payout that would pay more than the simulated Utility balance
 * (`POST /simulator/control/balance`) fails like 254700000001, whichever paying scenario PartyB picked.
 */
export const B2C_INSUFFICIENT_BALANCE_SCENARIO: B2cScenario = {
  phone: null,
  outcome: 'insufficient_funds',
  paid: false,
  delivery: 'result',
  resultCode: 1,
  summary: 'any PartyB when Amount exceeds the simulated Utility balance: ResultCode 1, not paid',
};

const B2C_BY_PHONE = new Map(B2C_SCENARIOS.map((s) => [s.phone, s]));

export function b2cScenarioFor(phone: string): B2cScenario {
  return B2C_BY_PHONE.get(phone) ?? DEFAULT_B2C_SCENARIO;
}

/**
 * Reversal: a request with this Amount (the app sends the payment's amount, so: reversing an STK payment of KES 2,002)
 * is accepted like any other, and its result refuses it with R000002 "The OriginalTransactionID is invalid." even for a
 * valid receipt. Daraja reports reversal refusals in the result, never in the synchronous answer (docs/daraja.md §7).
 */
export const REVERSAL_REFUSED_AMOUNT = 2_002;

/**
 * What the simulator POSTs to QueueTimeOutURL. Safaricom documents no sample (docs/daraja.md §5.5): this code and
 * text are our choice, in the `Result` envelope community handlers read. Apps must treat any arrival there as a
 * timeout whatever its ResultCode (this one deliberately reuses 1, which means "insufficient funds" in a result).
 */
export const B2C_QUEUE_TIMEOUT = { resultCode: 1, resultDesc: 'The request timed out while waiting in the queue' } as const;

// ---- C2B (customer-initiated payments to the paybill or till) ----

/** What happens to the confirmation of a C2B payment made through simulate (the payment itself always completes). */
export type C2bOutcome = 'confirmed' | 'confirmation_lost' | 'confirmation_twice' | 'confirmation_late';

/** When the confirmation is POSTed, counted from the moment the payment completes. */
export type C2bDelivery = 'once' | 'twice' | 'late' | 'never';

export interface C2bScenario {
  /** The `Msisdn` that triggers it; `null` for the default (any other valid number). */
  phone: string | null;
  outcome: C2bOutcome;
  delivery: C2bDelivery;
  /** One line for the README table. */
  summary: string;
}

export const DEFAULT_C2B_SCENARIO: C2bScenario = {
  phone: null,
  outcome: 'confirmed',
  delivery: 'once',
  summary: 'any other valid number: completed; confirmation after SIMULATOR_CALLBACK_DELAY_MS',
};

/**
 * The Msisdn table of C2B simulate: numbers no STK or B2C scenario uses, so one phone never means two things. The
 * money moves in every case (Pull and the statement list it); only the confirmation's fate differs.
 */
export const C2B_SCENARIOS: readonly C2bScenario[] = [
  {
    phone: '254700000020',
    outcome: 'confirmation_lost',
    delivery: 'never',
    summary: 'completed (validation still asked, when on), but the confirmation is never delivered: only Pull and the statement know',
  },
  {
    phone: '254700000021',
    outcome: 'confirmation_twice',
    delivery: 'twice',
    summary: `completed; the confirmation is delivered twice (same body, same TransID, ${DUPLICATE_CALLBACK_GAP_MS} ms apart)`,
  },
  {
    phone: '254700000022',
    outcome: 'confirmation_late',
    delivery: 'late',
    summary: 'completed at SIMULATOR_CALLBACK_DELAY_MS; the confirmation arrives late, SIMULATOR_LATE_CALLBACK_MS after the simulate call',
  },
];

const C2B_BY_PHONE = new Map(C2B_SCENARIOS.map((s) => [s.phone, s]));

export function c2bScenarioFor(phone: string): C2bScenario {
  return C2B_BY_PHONE.get(phone) ?? DEFAULT_C2B_SCENARIO;
}

/**
 * Milliseconds after the payment completes (SIMULATOR_CALLBACK_DELAY_MS after the simulate call) at which each
 * confirmation is POSTed.
 */
export function c2bConfirmationDelaysMs(scenario: C2bScenario, timings: SimulatorTimings): number[] {
  switch (scenario.delivery) {
    case 'once':
      return [0];
    case 'twice':
      return [0, DUPLICATE_CALLBACK_GAP_MS];
    case 'late':
      return [Math.max(0, timings.lateCallbackMs - timings.callbackDelayMs)];
    case 'never':
      return [];
  }
}
