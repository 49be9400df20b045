import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { normalizeResultCode } from '../../src/mpesa/daraja-result-codes';
import { b2cResultDetails, parseResultCallback } from '../../src/mpesa/daraja-result.parser';
import { classifyDarajaError } from '../../src/mpesa/daraja-errors';
import { parseStkCallback } from '../../src/payments/stk-callback.parser';
import {
  b2cQueueTimeout,
  b2cSuccessResult,
  darajaFixture,
  DarajaFixtureName,
  stkFailureCallback,
  stkSuccessCallback,
} from '../fixtures/daraja';

const FIXTURE_DIR = join(__dirname, '..', 'fixtures', 'daraja');
const STK_CALLBACKS = ['stk-callback-success', 'stk-callback-cancelled', 'stk-callback-operator-does-not-exist'] as const;
const RESULTS = [
  'b2c-result-success',
  'b2c-result-failure',
  'b2c-queue-timeout',
  'account-balance-result',
  'reversal-result-success',
  'reversal-result-failure',
  'transaction-status-result',
] as const;
const STK_QUERY_RESULTS = ['stk-query-completed', 'stk-query-cancelled'] as const;
/** C2B and Pull Transactions: checked in test/unit/simulator-c2b-wire.spec.ts against what the simulator sends. */
const C2B_AND_PULL = [
  'c2b-confirmation',
  'c2b-confirmation-org',
  'c2b-validation',
  'c2b-register-response',
  'c2b-register-already-registered',
  'pull-register-response',
  'pull-register-already-registered',
  'pull-query-response',
  'pull-query-no-records',
  'pull-query-failure',
] as const;

describe('darajaFixture', () => {
  it('loads every file of test/fixtures/daraja', () => {
    const names = readdirSync(FIXTURE_DIR)
      .filter((file) => file.endsWith('.json'))
      .map((file) => file.replace(/\.json$/, ''));

    expect(names.filter((name) => typeof darajaFixture(name as DarajaFixtureName) !== 'object')).toEqual([]);
    expect([...STK_CALLBACKS, ...RESULTS, ...STK_QUERY_RESULTS, 'stk-query-still-processing', ...C2B_AND_PULL].sort()).toEqual(
      names.sort(),
    );
  });

  it('returns a fresh copy each time, so a test may change it', () => {
    darajaFixture('b2c-result-success').Result.ResultCode = 2001;

    expect(darajaFixture('b2c-result-success').Result.ResultCode).toBe(0);
  });

  it.each(STK_CALLBACKS)('%s is an STK callback the parser accepts', (name) => {
    expect(parseStkCallback(darajaFixture(name))).toMatchObject({ ok: true });
  });

  it.each(RESULTS)('%s is a result envelope the parser accepts', (name) => {
    expect(parseResultCallback(darajaFixture(name))).toMatchObject({ ok: true });
  });

  it.each(STK_QUERY_RESULTS)('%s carries its ResultCode as a string', (name) => {
    expect(typeof darajaFixture(name).ResultCode).toBe('string');
    expect(normalizeResultCode(darajaFixture(name).ResultCode)).toMatch(/^\d+$/);
  });

  it('stk-query-still-processing is the "being processed" error that means pending', () => {
    expect(classifyDarajaError(500, darajaFixture('stk-query-still-processing')).reason).toBe('still_processing');
  });
});

describe(stkSuccessCallback.name, () => {
  it('fills in the ids, amount, receipt, date and phone, and keeps the Balance item without a Value', () => {
    const body = stkSuccessCallback({
      merchantRequestId: '1234-5678-1',
      checkoutRequestId: 'ws_CO_010320251200000001234567',
      amount: 250,
      receipt: 'TST0000001',
      transactionDate: 20250301120304,
      phone: '254712345678',
    });

    expect(parseStkCallback(body)).toEqual({
      ok: true,
      value: {
        merchantRequestId: '1234-5678-1',
        checkoutRequestId: 'ws_CO_010320251200000001234567',
        resultCode: '0',
        resultDesc: 'The service request is processed successfully.',
        amount: 250,
        receiptNumber: 'TST0000001',
        transactionDate: new Date('2025-03-01T09:03:04.000Z'),
        phoneNumber: '254712345678',
      },
    });
    expect(body.Body.stkCallback.CallbackMetadata.Item).toContainEqual({ Name: 'Balance' });
  });
});

describe(stkFailureCallback.name, () => {
  it('fills in the ids and keeps the result of the failure sample', () => {
    expect(parseStkCallback(stkFailureCallback({ merchantRequestId: 'm-1', checkoutRequestId: 'ws_CO_1' }))).toEqual({
      ok: true,
      value: { merchantRequestId: 'm-1', checkoutRequestId: 'ws_CO_1', resultCode: '1032', resultDesc: 'Request cancelled by user' },
    });
  });
});

describe(b2cSuccessResult.name, () => {
  it('fills in the ids, amount and receipt, and keeps the other documented parameters', () => {
    const body = b2cSuccessResult({
      originatorConversationId: 'LPabc123',
      conversationId: 'AG_20250301_1',
      amount: 300,
      receipt: 'TST0000002',
    });
    const parsed = parseResultCallback(body);
    if (!parsed.ok) throw new Error(parsed.reason);

    expect(parsed.value).toMatchObject({
      originatorConversationId: 'LPabc123',
      conversationId: 'AG_20250301_1',
      transactionId: 'TST0000002',
    });
    expect(b2cResultDetails(parsed.value)).toMatchObject({ amount: 300, receipt: 'TST0000002', receiverName: 'NICHOLAS JOHN SONGOK' });
    expect(parsed.value.parameterList).toHaveLength(8);
  });
});

describe(b2cQueueTimeout.name, () => {
  it('carries the payout ids', () => {
    expect(b2cQueueTimeout({ originatorConversationId: 'LPabc123', conversationId: 'AG_20250301_1' }).Result).toMatchObject({
      OriginatorConversationID: 'LPabc123',
      ConversationID: 'AG_20250301_1',
    });
  });
});
