// The simulator's C2B, Pull Transactions and statement pieces as pure functions: request checks, the exact JSON it
// sends (compared key by key with Daraja's samples in test/fixtures/daraja), masks, and the org-portal CSV.
import { c2bConfirmation, c2bValidation, darajaFixture, pullQueryAnswer, statementFixture } from '../fixtures/daraja';
import { pullFailureInside200 } from '../../src/mpesa/simulator/daraja-errors';
import {
  checkC2bRegister,
  checkC2bSimulate,
  checkPullQuery,
  checkPullRegister,
  parseKenyaDateTime,
  parseStatementBound,
} from '../../src/mpesa/simulator/simulator-c2b-checks';
import {
  c2bCallbackBody,
  C2bCallbackFacts,
  newC2bV1OriginatorId,
  newC2bV2OriginatorId,
  pullNoRecordsResponse,
  pullQueryResponse,
  pullRecord,
  pullRegisterResponse,
  readValidationAnswer,
  registerUrlResponse,
  simulateResponse,
} from '../../src/mpesa/simulator/simulator-c2b-wire';
import { faultEffect } from '../../src/mpesa/simulator/simulator-faults';
import { formatMsisdn, hashMsisdn, LedgerEntry, maskC2bMsisdn, maskStatementMsisdn } from '../../src/mpesa/simulator/simulator-ledger';
import {
  B2C_SCENARIOS,
  C2B_SCENARIOS,
  c2bConfirmationDelaysMs,
  c2bScenarioFor,
  DEFAULT_C2B_SCENARIO,
  STK_SCENARIOS,
} from '../../src/mpesa/simulator/simulator-scenarios';
import { kshText, STATEMENT_HEADER, statementCsv, statementDetails, statementTime } from '../../src/mpesa/simulator/simulator-statement';

const BAD = (field: string) => ({
  ok: false,
  reply: { status: 400, body: expect.objectContaining({ errorMessage: `Bad Request - Invalid ${field}` }) },
});

describe('C2B Register URL checks', () => {
  const body = {
    ShortCode: 600984,
    ResponseType: 'Completed',
    ConfirmationURL: 'https://lp.example/api/payments/daraja/c2b/confirmation?token=t',
    ValidationURL: 'https://lp.example/api/payments/daraja/c2b/validation?token=t',
  };

  it('accepts a numeric ShortCode and both spellings of Cancelled', () => {
    expect(checkC2bRegister(body)).toEqual({
      ok: true,
      value: { shortCode: '600984', responseType: 'Completed', confirmationUrl: body.ConfirmationURL, validationUrl: body.ValidationURL },
    });
    expect(checkC2bRegister({ ...body, ResponseType: 'Canceled' })).toMatchObject({ ok: true, value: { responseType: 'Cancelled' } });
  });

  it('refuses URLs holding a word Safaricom forbids, anywhere, in any case', () => {
    expect(checkC2bRegister({ ...body, ConfirmationURL: 'https://lp.example/api/payments/MPesa/c2b' })).toEqual(BAD('ConfirmationURL'));
    expect(checkC2bRegister({ ...body, ValidationURL: 'https://lp.example/v?Query=1' })).toEqual(BAD('ValidationURL'));
  });

  it('names the first bad field', () => {
    expect(checkC2bRegister({ ...body, ShortCode: '17' })).toEqual(BAD('ShortCode'));
    expect(checkC2bRegister({ ...body, ResponseType: 'completed' })).toEqual(BAD('ResponseType'));
    expect(checkC2bRegister({ ...body, ConfirmationURL: 'ftp://x' })).toEqual(BAD('ConfirmationURL'));
  });
});

describe('C2B Simulate checks', () => {
  const body = { ShortCode: 600984, CommandID: 'CustomerPayBillOnline', Amount: 150, Msisdn: 254708374149, BillRefNumber: 'LP7KQ2' };

  it('accepts the documented numbers and keeps the account number as typed', () => {
    expect(checkC2bSimulate({ ...body, BillRefNumber: ' lp7kq2 ' })).toEqual({
      ok: true,
      value: { shortCode: '600984', commandId: 'CustomerPayBillOnline', amount: 150, phone: '254708374149', billRefNumber: ' lp7kq2 ' },
    });
  });

  it('lets Buy Goods go without an account number (null in the docs)', () => {
    expect(checkC2bSimulate({ ...body, CommandID: 'CustomerBuyGoodsOnline', BillRefNumber: null })).toMatchObject({
      ok: true,
      value: { billRefNumber: null },
    });
  });

  it('refuses a paybill payment without an account number, a bad amount, number or command', () => {
    expect(checkC2bSimulate({ ...body, BillRefNumber: '  ' })).toEqual(BAD('BillRefNumber'));
    expect(checkC2bSimulate({ ...body, BillRefNumber: 'X'.repeat(21) })).toEqual(BAD('BillRefNumber'));
    expect(checkC2bSimulate({ ...body, Amount: 1.5 })).toEqual(BAD('Amount'));
    expect(checkC2bSimulate({ ...body, Msisdn: '0708374149' })).toEqual(BAD('Msisdn'));
    expect(checkC2bSimulate({ ...body, CommandID: 'BusinessPayBill' })).toEqual(BAD('CommandID'));
  });
});

describe('Pull checks', () => {
  it('register takes both nominated number forms and only RequestType Pull', () => {
    const body = { ShortCode: '600000', RequestType: 'Pull', NominatedNumber: '0722000000', CallBackURL: 'https://lp.example/pull' };
    expect(checkPullRegister(body)).toMatchObject({ ok: true, value: { nominatedNumber: '0722000000' } });
    expect(checkPullRegister({ ...body, NominatedNumber: '254722000000' })).toMatchObject({ ok: true });
    expect(checkPullRegister({ ...body, RequestType: 'Push' })).toEqual(BAD('RequestType'));
    expect(checkPullRegister({ ...body, NominatedNumber: '600000' })).toEqual(BAD('NominatedNumber'));
  });

  it('reads StartDate/EndDate as Kenya time, with or without seconds, and OffSetValue as a number or digits', () => {
    expect(checkPullQuery({ ShortCode: '600000', StartDate: '2026-12-05 8:36', EndDate: '2026-12-05 10:10:00', OffSetValue: '1' })).toEqual(
      {
        ok: true,
        value: {
          shortCode: '600000',
          start: new Date('2026-12-05T05:36:00.000Z'),
          end: new Date('2026-12-05T07:10:00.000Z'),
          offset: 1,
        },
      },
    );
    expect(
      checkPullQuery({ ShortCode: '600000', StartDate: '2026-12-05 08:00:00', EndDate: '2026-12-05 09:00:00', OffSetValue: 2 }),
    ).toMatchObject({
      value: { offset: 2 },
    });
  });

  it("refuses the docs' own sample EndDate (three digits of seconds), an end before the start, a negative offset", () => {
    const base = { ShortCode: '600000', StartDate: '2026-12-05 08:00:00', EndDate: '2026-12-05 09:00:00', OffSetValue: 0 };
    expect(checkPullQuery({ ...base, EndDate: '2020-08-16 10:10:000' })).toEqual(BAD('EndDate'));
    expect(checkPullQuery({ ...base, EndDate: '2026-12-05 07:59:59' })).toEqual(BAD('EndDate'));
    expect(checkPullQuery({ ...base, StartDate: '2026-02-30 08:00:00' })).toEqual(BAD('StartDate'));
    expect(checkPullQuery({ ...base, OffSetValue: -1 })).toEqual(BAD('OffSetValue'));
    expect(checkPullQuery({ ...base, OffSetValue: undefined })).toEqual(BAD('OffSetValue'));
  });

  it('parses Kenya date-times and statement bounds', () => {
    expect(parseKenyaDateTime('2026-12-05 00:00:00')).toEqual(new Date('2026-12-04T21:00:00.000Z'));
    expect(parseKenyaDateTime('2026-12-05 24:00:00')).toBeUndefined();
    expect(parseStatementBound('2026-12-05', 'from')).toEqual(new Date('2026-12-04T21:00:00.000Z'));
    expect(parseStatementBound('2026-12-05', 'to')).toEqual(new Date('2026-12-05T20:59:59.999Z'));
    expect(parseStatementBound('2026-12-05 10:00:00', 'to')).toEqual(new Date('2026-12-05T07:00:00.999Z'));
    expect(parseStatementBound('2026-12-05T07:00:00Z', 'from')).toEqual(new Date('2026-12-05T07:00:00.000Z'));
    expect(parseStatementBound(undefined, 'from')).toBeUndefined();
    expect(parseStatementBound('yesterday', 'from')).toBeNull();
  });
});

describe('C2B scenarios', () => {
  it('use numbers no STK or B2C scenario uses', () => {
    const taken = new Set([...STK_SCENARIOS, ...B2C_SCENARIOS].map((s) => s.phone));
    expect(C2B_SCENARIOS.filter((s) => taken.has(s.phone))).toEqual([]);
    expect(c2bScenarioFor('254712345678')).toBe(DEFAULT_C2B_SCENARIO);
  });

  it('time the confirmations from the completion: once, never, twice, late', () => {
    const timings = { callbackDelayMs: 300, lateCallbackMs: 4_000, noAnswerMs: 4_000 };
    expect(c2bConfirmationDelaysMs(DEFAULT_C2B_SCENARIO, timings)).toEqual([0]);
    expect(c2bConfirmationDelaysMs(c2bScenarioFor('254700000020'), timings)).toEqual([]);
    expect(c2bConfirmationDelaysMs(c2bScenarioFor('254700000021'), timings)).toEqual([0, 50]);
    expect(c2bConfirmationDelaysMs(c2bScenarioFor('254700000022'), timings)).toEqual([3_700]);
  });
});

describe('C2B wire', () => {
  const facts: C2bCallbackFacts = {
    receipt: 'SKC1A2B3C4',
    amount: 150,
    msisdn: '254708374149',
    name: 'JOHN DOE',
    accountReference: 'LP7KQ2',
    transactionType: 'CustomerPayBillOnline',
    shortCode: '600984',
    completedAt: new Date('2026-12-05T09:13:25.400Z'),
  };

  it("sends the confirmation in D-C2B's shape, key for key, every value a string", () => {
    const body = c2bCallbackBody(facts, 'confirmation', { msisdnFormat: 'masked', orgBalanceCents: 2_500, thirdPartyTransId: 'LP-1' });
    expect(Object.keys(body)).toEqual(Object.keys(darajaFixture('c2b-confirmation')));
    expect(body).toEqual({
      TransactionType: 'Pay Bill',
      TransID: 'SKC1A2B3C4',
      TransTime: '20261205121325',
      TransAmount: '150.00',
      BusinessShortCode: '600984',
      BillRefNumber: 'LP7KQ2',
      InvoiceNumber: '',
      OrgAccountBalance: '25.00',
      ThirdPartyTransID: 'LP-1',
      MSISDN: '2547 ***** 149',
      FirstName: 'JOHN',
      MiddleName: '',
      LastName: '',
    });
  });

  it('leaves OrgAccountBalance and ThirdPartyTransID blank in the validation request', () => {
    const body = c2bCallbackBody(facts, 'validation', { msisdnFormat: 'masked', orgBalanceCents: 2_500, thirdPartyTransId: 'x' });
    expect(Object.keys(body)).toEqual(Object.keys(darajaFixture('c2b-validation')));
    expect(body).toMatchObject({ OrgAccountBalance: '', ThirdPartyTransID: '', TransID: 'SKC1A2B3C4' });
  });

  it('says Buy Goods with an empty BillRefNumber for a till', () => {
    const body = c2bCallbackBody({ ...facts, transactionType: 'CustomerBuyGoodsOnline', accountReference: null }, 'confirmation', {
      msisdnFormat: 'masked',
    });
    expect(body).toMatchObject({ TransactionType: 'Buy Goods', BillRefNumber: '' });
  });

  it('masks, hashes, keeps or drops the number', () => {
    expect(maskC2bMsisdn('254708374126')).toBe('2547 ***** 126');
    expect(maskStatementMsisdn('254708374376')).toBe('2547****376');
    // The community sample of docs/daraja.md §9.7.
    expect(hashMsisdn('254722000000')).toBe('8556a495c390f3ba95d2bdf6d06436f2fd09f516531f0a7cd9591c60812fa46d');
    expect(formatMsisdn('254708374149', 'plain')).toBe('254708374149');
    expect(formatMsisdn('254708374149', 'empty')).toBe('');
  });

  it('answers Register URL with the misspelled key, like both documented samples', () => {
    const v2 = registerUrlResponse('v2', newC2bV2OriginatorId());
    expect(Object.keys(v2)).toEqual(Object.keys(darajaFixture('c2b-register-response')));
    expect(v2).toEqual({
      OriginatorCoversationID: expect.stringMatching(/^[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\d{7}$/),
      ResponseCode: '0',
      ResponseDescription: 'Success',
    });
    expect(registerUrlResponse('v1', newC2bV1OriginatorId(5))).toEqual({
      OriginatorCoversationID: expect.stringMatching(/^\d{4,5}-37000005-1$/),
      ResponseCode: '0',
      ResponseDescription: 'success',
    });
  });

  it('acknowledges Simulate v2 as documented and v1 as the real capture', () => {
    expect(simulateResponse('v2', 'o-1', 'AG_1')).toEqual({
      OriginatorCoversationID: 'o-1',
      ResponseCode: '0',
      ResponseDescription: 'Accept the service request successfully.',
    });
    expect(simulateResponse('v1', 'o-1', 'AG_1')).toEqual({
      ConversationID: 'AG_1',
      OriginatorCoversationID: 'o-1',
      ResponseDescription: 'Accept the service request successfully.',
    });
  });

  it('reads the validation answer as M-Pesa does', () => {
    expect(readValidationAnswer({ ResultCode: '0', ResultDesc: 'Accepted' })).toEqual({ kind: 'accepted' });
    expect(readValidationAnswer({ ResultCode: 0, ThirdPartyTransID: 'LP-9' })).toEqual({ kind: 'accepted', thirdPartyTransId: 'LP-9' });
    expect(readValidationAnswer({ ResultCode: 'C2B00012', ResultDesc: 'Rejected' })).toEqual({ kind: 'rejected', resultCode: 'C2B00012' });
    expect(readValidationAnswer('<html>')).toEqual({ kind: 'unreachable' });
    expect(readValidationAnswer({ ok: true })).toEqual({ kind: 'unreachable' });
  });
});

describe('Pull wire', () => {
  const entry: LedgerEntry = {
    id: 'SKC1A2B3C4',
    receipt: 'SKC1A2B3C4',
    kind: 'c2b',
    amount: 168,
    completedAt: '2026-12-05T07:13:00.250Z',
    shortCode: '600000',
    msisdn: '254708374149',
    name: 'JOHN DOE',
    accountReference: '37207636392',
    transactionType: 'CustomerPayBillOnline',
    origin: 'simulated',
  };

  it("lists a record with the sample's lower-case keys and types", () => {
    const sample = (darajaFixture('pull-query-response').Response as Record<string, unknown>[][])[0][0];
    const record = pullRecord(entry, 'masked');
    expect(Object.keys(record)).toEqual(Object.keys(sample));
    expect(record).toEqual({
      transactionId: 'SKC1A2B3C4',
      trxDate: '2026-12-05T07:13:00Z',
      msisdn: '2547 ***** 149',
      sender: 'JOHN DOE',
      transactiontype: 'c2b-pay-bill-debit',
      billreference: '37207636392',
      amount: '168.00',
      organizationname: 'Daraja Simulator',
    });
    expect(pullRecord(entry, 'plain').msisdn).toBe(254708374149);
  });

  it('answers 1000 with an array of arrays and the paging totals, 1001 and the failure like the fixtures', () => {
    const answer = pullQueryResponse([pullRecord(entry, 'masked')], 3, 5);
    expect(answer).toMatchObject({ ResponseCode: '1000', ResponseMessage: 'Success', TotalPages: 3, TotalRecords: 5 });
    expect(answer.Response).toEqual([[expect.objectContaining({ transactionId: 'SKC1A2B3C4' })]]);
    expect(pullNoRecordsResponse()).toEqual({ ResponseRefID: expect.any(String), ...darajaFixture('pull-query-no-records') });
    const failure = faultEffect('pullquery', { kind: 'pull_error' });
    expect(failure.when === 'before' && failure.action === 'answer' && failure.reply).toEqual({
      status: 200,
      body: { ...darajaFixture('pull-query-failure'), ResponseRefID: expect.any(String) },
    });
    expect(pullFailureInside200().body).toMatchObject({ ResponseCode: '500.003.02' });
  });

  it('registers with the 3.0 keys and answers "already" with the 2.0 keys (spaces)', () => {
    expect(Object.keys(pullRegisterResponse('600000', false))).toEqual(Object.keys(darajaFixture('pull-register-response')));
    expect(pullRegisterResponse('600000', true)).toEqual({
      ...darajaFixture('pull-register-already-registered'),
      ResponseRefID: expect.stringMatching(/^\d+-\d+-\d$/),
    });
  });

  it('answers the already_registered fault as production does', () => {
    expect(faultEffect('c2bregister', { kind: 'already_registered' })).toEqual({
      when: 'before',
      action: 'answer',
      reply: { status: 500, body: { ...darajaFixture('c2b-register-already-registered'), requestId: expect.any(String) } },
    });
  });
});

describe('statement CSV', () => {
  const at = (iso: string) => new Date(iso).toISOString();
  const rows: LedgerEntry[] = [
    {
      id: 'SKC1A2B3C4',
      receipt: 'SKC1A2B3C4',
      kind: 'c2b',
      amount: 1_500,
      completedAt: at('2026-12-04T05:15:02.300Z'),
      shortCode: '174379',
      msisdn: '254708374149',
      name: 'JOHN DOE',
      accountReference: 'LP7KQ2',
      transactionType: 'CustomerPayBillOnline',
      origin: 'simulated',
    },
    {
      id: 'SKC1A2B3C4:charge',
      receipt: 'SKC1A2B3C4',
      kind: 'charge',
      amount: 15,
      completedAt: at('2026-12-04T05:15:02.300Z'),
      shortCode: '174379',
      msisdn: '',
      name: '',
      accountReference: null,
      transactionType: 'Charge',
      origin: 'control',
    },
    {
      id: 'SKD4E5F6G7',
      receipt: 'SKD4E5F6G7',
      kind: 'stk',
      amount: 2_500,
      completedAt: at('2026-12-04T06:40:11.000Z'),
      shortCode: '174379',
      msisdn: '254708374376',
      name: 'JANE DOE',
      accountReference: 'LP9MX4',
      transactionType: 'CustomerPayBillOnline',
      origin: 'simulated',
    },
    {
      id: 'SKE8H9J0K1',
      receipt: 'SKE8H9J0K1',
      kind: 'b2c',
      amount: 500,
      completedAt: at('2026-12-04T08:02:45.000Z'),
      shortCode: '174379',
      msisdn: '254708374149',
      name: 'JOHN DOE',
      accountReference: null,
      transactionType: 'BusinessPayment',
      origin: 'simulated',
    },
    {
      id: 'SKF2L3M4N5',
      receipt: 'SKF2L3M4N5',
      kind: 'reversal',
      amount: 300,
      completedAt: at('2026-12-04T09:30:00.000Z'),
      shortCode: '174379',
      msisdn: '254708374149',
      name: 'JOHN DOE',
      accountReference: null,
      transactionType: 'TransactionReversal',
      originalReceipt: 'SKA0000001',
      origin: 'simulated',
    },
    {
      id: 'SKJ5V6W7X8',
      receipt: 'SKJ5V6W7X8',
      kind: 'c2b',
      amount: 12_345,
      completedAt: at('2026-12-04T15:05:09.000Z'),
      shortCode: '174379',
      msisdn: '254708374149',
      name: 'JOHN DOE',
      accountReference: 'INV-1, 2',
      transactionType: 'CustomerPayBillOnline',
      origin: 'simulated',
    },
  ];

  it('formats Kenya times day first, and amounts with thousands separators', () => {
    expect(statementTime(new Date('2026-12-04T21:05:09Z'))).toBe('05/12/2026 00:05:09');
    expect(kshText(123_456_789)).toBe('1,234,567.89');
    expect(kshText(-1_000_000)).toBe('-10,000.00');
    expect(kshText(0)).toBe('0.00');
  });

  it('names each kind as the portal does', () => {
    expect(rows.map(statementDetails)).toEqual([
      'Pay Bill from 2547****149 - JOHN DOE Acc. LP7KQ2',
      'Pay Bill Charge',
      'Pay Bill Online from 2547****376 - JANE DOE Acc. LP9MX4',
      'Business Payment to Customer via API to 2547****149 - JOHN DOE',
      'Reversal of SKA0000001 to 2547****149 - JOHN DOE',
      'Pay Bill from 2547****149 - JOHN DOE Acc. INV-1, 2',
    ]);
  });

  it("writes the newer template: the fixture's header, newest first, running balance, CRLF, quoted where needed", () => {
    const csv = statementCsv(rows, 1_000_000);
    const lines = csv.split('\r\n');
    expect(lines[0]).toBe(STATEMENT_HEADER.join(','));
    expect(lines[0]).toBe(statementFixture('portal').split('\r\n')[0]);
    expect(lines.slice(1)).toEqual([
      'SKJ5V6W7X8,04/12/2026 18:05:09,"Pay Bill from 2547****149 - JOHN DOE Acc. INV-1, 2",Completed,"12,345.00",0.00,"25,530.00"',
      'SKF2L3M4N5,04/12/2026 12:30:00,Reversal of SKA0000001 to 2547****149 - JOHN DOE,Completed,0.00,-300.00,"13,185.00"',
      'SKE8H9J0K1,04/12/2026 11:02:45,Business Payment to Customer via API to 2547****149 - JOHN DOE,Completed,0.00,-500.00,"13,485.00"',
      'SKD4E5F6G7,04/12/2026 09:40:11,Pay Bill Online from 2547****376 - JANE DOE Acc. LP9MX4,Completed,"2,500.00",0.00,"13,985.00"',
      'SKC1A2B3C4,04/12/2026 08:15:02,Pay Bill Charge,Completed,0.00,-15.00,"11,485.00"',
      'SKC1A2B3C4,04/12/2026 08:15:02,Pay Bill from 2547****149 - JOHN DOE Acc. LP7KQ2,Completed,"1,500.00",0.00,"11,500.00"',
      '',
    ]);
  });

  it('writes only the header for an empty period', () => {
    expect(statementCsv([], 0)).toBe(`${STATEMENT_HEADER.join(',')}\r\n`);
  });
});

describe('fixture helpers for C2B, Pull and statements', () => {
  it('fill a confirmation and its validation request with a payment', () => {
    const fill = { receipt: 'SKC1A2B3C4', amount: 150, accountReference: 'LP7KQ2', transTime: '20261205121325', shortCode: '600984' };
    expect(c2bConfirmation(fill)).toMatchObject({
      TransID: 'SKC1A2B3C4',
      TransAmount: '150.00',
      BillRefNumber: 'LP7KQ2',
      MSISDN: '2547 ***** 126',
      OrgAccountBalance: '25.00',
    });
    expect(c2bValidation(fill)).toMatchObject({ TransID: 'SKC1A2B3C4', OrgAccountBalance: '', ThirdPartyTransID: '' });
  });

  it('build a Pull answer from records, keeping the sample for the fields not given', () => {
    const answer = pullQueryAnswer([{ transactionId: 'SKC1A2B3C4' }, { transactionId: 'SKD4E5F6G7', amount: 20 }], {
      totalPages: 1,
      totalRecords: 2,
    });
    expect(answer).toMatchObject({ ResponseCode: '1000', TotalPages: 1, TotalRecords: 2 });
    expect(answer.Response).toEqual([
      [
        expect.objectContaining({ transactionId: 'SKC1A2B3C4', amount: '168.00', transactiontype: 'c2b-pay-bill-debit' }),
        expect.objectContaining({ transactionId: 'SKD4E5F6G7', amount: 20 }),
      ],
    ]);
  });

  it('load both statement layouts', () => {
    expect(statementFixture('portal').split('\r\n')[0]).toBe(STATEMENT_HEADER.join(','));
    expect(statementFixture('legacy').split('\r\n')[6]).toMatch(/^Receipt No\.,Completion Time,Initiation Time,Details,/);
  });
});
