import { darajaTimestamp, stkPassword } from '../../src/mpesa/daraja-time';
import { invalidCredentials } from '../../src/mpesa/simulator/daraja-errors';
import {
  bearerToken,
  checkCheckoutRequestId,
  checkMerchantSecurity,
  checkStkPushFields,
  parseBasicAuth,
} from '../../src/mpesa/simulator/simulator-checks';
import { FAULT_KINDS, faultAppliesTo, faultEffect, SIMULATED_ENDPOINTS } from '../../src/mpesa/simulator/simulator-faults';
import {
  callbackDelaysMs,
  DEFAULT_STK_SCENARIO,
  settleDelayMs,
  STK_SCENARIOS,
  stkScenarioFor,
} from '../../src/mpesa/simulator/simulator-scenarios';
import {
  newCheckoutRequestId,
  newReceiptNumber,
  SimulatedStkTransaction,
  stkCallbackPayload,
  stkQueryResponse,
} from '../../src/mpesa/simulator/simulator-wire';

const merchant = {
  shortcode: '174379',
  passkey: 'bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919',
  partyB: '174379',
};
const timings = { callbackDelayMs: 1_500, lateCallbackMs: 45_000, noAnswerMs: 60_000 };
const now = new Date('2025-03-01T09:00:00.000Z'); // 12:00:00 in Nairobi
const timestamp = darajaTimestamp(now);

function pushBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    BusinessShortCode: 174379,
    Password: stkPassword(merchant.shortcode, merchant.passkey, timestamp),
    Timestamp: timestamp,
    TransactionType: 'CustomerPayBillOnline',
    Amount: '1',
    PartyA: 254708374149,
    PartyB: '174379',
    PhoneNumber: '254708374149',
    CallBackURL: 'https://example.com/cb?secret=x',
    AccountReference: 'INV-1',
    TransactionDesc: 'Legal fee',
    ...overrides,
  };
}

function firstError(body: Record<string, unknown>) {
  const security = checkMerchantSecurity(body, merchant, now);
  if (!security.ok) return security.reply;
  const fields = checkStkPushFields(body, merchant);
  return fields.ok ? undefined : fields.reply;
}

describe('simulator scenarios', () => {
  it('maps each table phone to its own outcome and any other number to success', () => {
    expect(stkScenarioFor('254700001032').resultCode).toBe(1032);
    expect(stkScenarioFor('254712345678')).toBe(DEFAULT_STK_SCENARIO);
    expect(new Set(STK_SCENARIOS.map((s) => s.phone)).size).toBe(STK_SCENARIOS.length);
  });

  it('settles the no-answer push after noAnswerMs without any callback', () => {
    const s = stkScenarioFor('254700001037');
    expect(settleDelayMs(s, timings)).toBe(60_000);
    expect(callbackDelaysMs(s, timings)).toEqual([]);
  });

  it('sends the duplicate scenario three times, 50 ms apart', () => {
    expect(callbackDelaysMs(stkScenarioFor('254700000002'), timings)).toEqual([1_500, 1_550, 1_600]);
  });

  it('delivers the late callback at lateCallbackMs', () => {
    expect(callbackDelaysMs(stkScenarioFor('254700000003'), timings)).toEqual([45_000]);
  });

  it('answers 254700000006 with a 500 although its success callback comes at lateCallbackMs', () => {
    const s = stkScenarioFor('254700000006');
    expect(s).toMatchObject({ resultCode: 0, response: 'internal_error' });
    expect(callbackDelaysMs(s, timings)).toEqual([45_000]);
    expect(STK_SCENARIOS.filter((x) => x.response !== undefined).map((x) => x.phone)).toEqual(['254700000006']);
  });
});

describe('simulator checks', () => {
  it('accepts the documented sample shape', () => {
    expect(firstError(pushBody())).toBeUndefined();
  });

  it.each([
    [{ BusinessShortCode: '600000' }, 400, 'Bad Request - Invalid BusinessShortCode'],
    [{ Timestamp: darajaTimestamp(new Date(now.getTime() - 3 * 3600_000)) }, 400, 'Bad Request - Invalid Timestamp'],
    [{ Timestamp: '20250230120000' }, 400, 'Bad Request - Invalid Timestamp'],
    [{ Password: 'x' }, 500, 'Wrong credentials'],
    [{ TransactionType: 'CustomerPayBill' }, 400, 'Bad Request - Invalid TransactionType'],
    [{ Amount: '1.5' }, 400, 'Bad Request - Invalid Amount'],
    [{ Amount: 0 }, 400, 'Bad Request - Invalid Amount'],
    [{ Amount: 250_001 }, 400, 'Bad Request - Invalid Amount'],
    [{ PartyA: '0708374149' }, 400, 'Bad Request - Invalid PartyA'],
    [{ PhoneNumber: '+254708374149' }, 400, 'Bad Request - Invalid PhoneNumber'],
    [{ PartyB: '600000' }, 400, 'Bad Request - Invalid PartyB'],
    [{ CallBackURL: 'https://example.com/a b' }, 400, 'Bad Request - Invalid CallBackURL'],
    [{ AccountReference: '' }, 400, 'Bad Request - Invalid AccountReference'],
    [{ AccountReference: 'ABCDEFGHIJKLM' }, 400, 'Bad Request - Invalid AccountReference'],
    [{ TransactionDesc: 'ABCDEFGHIJKLMN' }, 400, 'Bad Request - Invalid TransactionDesc'],
  ])('rejects %j with HTTP %i "%s"', (overrides, status, message) => {
    const reply = firstError(pushBody(overrides));
    expect(reply?.status).toBe(status);
    expect(reply?.body).toMatchObject({ errorMessage: message });
  });

  it('reports the shortcode before the password, as Daraja checks in that order', () => {
    expect(firstError(pushBody({ BusinessShortCode: 1, Password: 'x' }))?.body).toMatchObject({
      errorCode: '400.002.02',
      errorMessage: 'Bad Request - Invalid BusinessShortCode',
    });
  });

  it('accepts a 2541 number and a push without TransactionDesc', () => {
    expect(firstError(pushBody({ PartyA: '254110000000', PhoneNumber: 254110000000, TransactionDesc: undefined }))).toBeUndefined();
  });

  it('tells Basic credentials from other schemes', () => {
    const header = 'Basic ' + Buffer.from('key:se:cret').toString('base64');
    expect(parseBasicAuth(header)).toEqual({ kind: 'credentials', key: 'key', secret: 'se:cret' });
    expect(parseBasicAuth('Baerer abc')).toEqual({ kind: 'not_basic' });
    expect(parseBasicAuth(undefined)).toEqual({ kind: 'not_basic' });
    expect(bearerToken('Bearer abc')).toBe('abc');
    expect(bearerToken('Basic abc')).toBeUndefined();
  });

  it('rejects a missing CheckoutRequestID', () => {
    const result = checkCheckoutRequestId({});
    expect(result.ok).toBe(false);
  });
});

describe('simulator wire', () => {
  const transaction: SimulatedStkTransaction = {
    checkoutRequestId: 'ws_CO_010320251200000001234567',
    merchantRequestId: '29115-34620561-1',
    phone: '254708374149',
    partyA: '254708374149',
    amount: 1,
    callbackUrl: 'https://example.com/cb',
    accountReference: 'INV-1',
    transactionType: 'CustomerPayBillOnline',
    outcome: 'success',
    createdAt: now.toISOString(),
    settlesAt: now.toISOString(),
    resultCode: 0,
    resultDesc: 'The service request is processed successfully.',
    receipt: 'NLJ7RT61SV',
    transactionDate: '20250301120000',
  };

  it('builds the production callback shape with numbers and a value-less Balance', () => {
    expect(stkCallbackPayload(transaction).Body.stkCallback.CallbackMetadata?.Item).toEqual([
      { Name: 'Amount', Value: 1 },
      { Name: 'MpesaReceiptNumber', Value: 'NLJ7RT61SV' },
      { Name: 'Balance' },
      { Name: 'TransactionDate', Value: 20250301120000 },
      { Name: 'PhoneNumber', Value: 254708374149 },
    ]);
  });

  it('leaves CallbackMetadata out of a failure and sends ResultCode as a string in the query', () => {
    const failed = { ...transaction, resultCode: 1032, resultDesc: 'Request cancelled by user', receipt: undefined };
    expect(stkCallbackPayload(failed).Body.stkCallback).not.toHaveProperty('CallbackMetadata');
    expect(stkQueryResponse(failed).ResultCode).toBe('1032');
  });

  it('formats CheckoutRequestID with Kenya time ddMMyyyyHHmmssSSS and receipts as 10 uppercase characters', () => {
    expect(newCheckoutRequestId(new Date('2025-03-01T09:04:05.067Z'))).toMatch(/^ws_CO_01032025120405067\d{8}$/);
    expect(newReceiptNumber()).toMatch(/^[A-Z][A-Z0-9]{9}$/);
  });
});

describe('simulator faults', () => {
  it('answers an OAuth invalid_token fault like bad credentials and an STK one with 404.001.03', () => {
    expect(faultEffect('oauth', { kind: 'invalid_token' })).toEqual({ when: 'before', action: 'answer', reply: invalidCredentials() });
    const stk = faultEffect('stkpush', { kind: 'invalid_token' });
    expect(stk.when === 'before' && stk.action === 'answer' && stk.reply.status).toBe(404);
  });

  it('processes before delaying, with 35 s by default', () => {
    expect(faultEffect('stkquery', { kind: 'delay' })).toEqual({ when: 'after', action: 'delay', delayMs: 35_000 });
  });

  it('gives internal_error and internal_error_after_processing the same envelope, before and after processing', () => {
    const before = faultEffect('stkpush', { kind: 'internal_error' });
    const after = faultEffect('stkpush', { kind: 'internal_error_after_processing' });
    expect(after).toMatchObject({ when: 'after', action: 'answer', reply: { status: 500, body: { errorCode: '500.003.1001' } } });
    expect(before.when === 'before' && before.action === 'answer' && before.reply.body).toEqual({
      ...(after.when === 'after' && after.action === 'answer' ? (after.reply.body as object) : {}),
      requestId: expect.any(String),
    });
  });

  it('answers the HTML faults with a 502 text/html page, before or after processing', () => {
    for (const [kind, when] of [
      ['html_error', 'before'],
      ['html_after_processing', 'after'],
    ] as const) {
      expect(faultEffect('b2c', { kind })).toMatchObject({ when, action: 'answer', reply: { status: 502, contentType: 'text/html' } });
    }
  });

  it('changes the processing for other_checkout and no_result', () => {
    expect(faultEffect('stkquery', { kind: 'other_checkout' })).toEqual({ when: 'during', variant: 'other_checkout' });
    expect(faultEffect('b2c', { kind: 'no_result' })).toEqual({ when: 'during', variant: 'no_result' });
  });

  it('keeps every earlier kind on every endpoint and restricts only the endpoint-specific ones', () => {
    const restricted = [
      'subscriber_locked',
      'other_checkout',
      'invalid_checkout',
      'no_result',
      'duplicate_originator',
      'already_registered',
      'pull_error',
    ];
    for (const kind of FAULT_KINDS.filter((k) => !restricted.includes(k))) {
      expect(SIMULATED_ENDPOINTS.every((e) => faultAppliesTo(kind, e))).toBe(true);
    }
    expect(SIMULATED_ENDPOINTS.filter((e) => faultAppliesTo('no_result', e))).toEqual([
      'b2c',
      'balance',
      'reversal',
      'transactionstatus',
      'c2bsimulate',
    ]);
    expect(SIMULATED_ENDPOINTS.filter((e) => faultAppliesTo('duplicate_originator', e))).toEqual(['b2c']);
    expect(SIMULATED_ENDPOINTS.filter((e) => faultAppliesTo('already_registered', e))).toEqual(['c2bregister']);
    expect(SIMULATED_ENDPOINTS.filter((e) => faultAppliesTo('pull_error', e))).toEqual(['pullquery']);
  });
});
