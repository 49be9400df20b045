import {
  b2cResultDetails,
  parseAccountBalance,
  parseDottedDarajaTime,
  ParsedResult,
  parseResultCallback,
  reversalDetails,
  transactionStatusDetails,
} from '../../src/mpesa/daraja-result.parser';
import { darajaFixture } from '../fixtures/daraja';

// Samples from docs/daraja.md (Safaricom's Daraja 3.0 pages unless noted), in test/fixtures/daraja/.

/** §5.3, D-B2C success. */
const B2C_SUCCESS = darajaFixture('b2c-result-success');

/** §5.3, D-B2C failure: no ResultParameters. */
const B2C_FAILURE = darajaFixture('b2c-result-failure');

/** §6, D-BAL: codes as strings. */
const BALANCE = darajaFixture('account-balance-result');

/** §7, D-REV success. */
const REVERSAL_SUCCESS = darajaFixture('reversal-result-success');

/** §7, D-REV failure: an alphanumeric code. */
const REVERSAL_FAILURE = darajaFixture('reversal-result-failure');

/** §8, D-TS: DebitPartyName twice, a parameter without Value, a ReferenceItem without Value. */
const TRANSACTION_STATUS = darajaFixture('transaction-status-result');

function parsed(body: unknown): ParsedResult {
  const outcome = parseResultCallback(body);
  if (!outcome.ok) throw new Error(outcome.reason);
  return outcome.value;
}

describe('parseResultCallback', () => {
  it('reads the envelope of a B2C success', () => {
    const result = parsed(B2C_SUCCESS);
    expect(result).toMatchObject({
      resultType: '0',
      resultCode: '0',
      resultDesc: 'The service request is processed successfully.',
      originatorConversationId: '53e3-4aa8-9fe0-8fb5e4092cdd3533373',
      conversationId: 'AG_20240706_2010364430d9bbdaf872',
      transactionId: 'SG632NMUAB',
    });
    expect(result.parameters['transactionamount']).toBe(10);
    expect(result.parametersByKey['TransactionReceipt']).toBe('SG632NMUAB');
    expect(result.parameterList).toHaveLength(8);
    expect(result.referenceData['queuetimeouturl']).toMatch(/b2cresults/);
  });

  it('reads a failure without ResultParameters', () => {
    const result = parsed(B2C_FAILURE);
    expect(result.resultCode).toBe('2001');
    expect(result.parameters).toEqual({});
    expect(result.parameterList).toEqual([]);
  });

  it('normalises string codes and keeps alphanumeric ones', () => {
    expect(parsed(BALANCE)).toMatchObject({ resultType: '0', resultCode: '0' });
    expect(parsed(REVERSAL_FAILURE).resultCode).toBe('R000002');
  });

  it('keeps every value of a repeated key, and the first one in the map', () => {
    const result = parsed(TRANSACTION_STATUS);
    expect(result.parameters['debitpartyname']).toBe('600310 - Safaricom333');
    expect(result.parameterList.filter((p) => p.key === 'DebitPartyName').map((p) => p.value)).toEqual([
      '600310 - Safaricom333',
      '254708374149 - John Doe',
    ]);
  });

  it('keeps keys without a Value, as undefined', () => {
    const result = parsed(TRANSACTION_STATUS);
    expect('transactionreason' in result.parameters).toBe(true);
    expect(result.parameters['transactionreason']).toBeUndefined();
    expect('occasion' in result.referenceData).toBe(true);
  });

  it('normalises the 2017 keys with spaces', () => {
    const result = parsed({
      Result: {
        ...TRANSACTION_STATUS.Result,
        ResultParameters: {
          ResultParameter: [
            { Key: 'Conversation ID', Value: 'AG_1' },
            { Key: 'Originator Conversation ID', Value: '1-2-3' },
          ],
        },
      },
    });
    expect(result.parameters).toMatchObject({ conversationid: 'AG_1', originatorconversationid: '1-2-3' });
    expect(result.parametersByKey['Conversation ID']).toBe('AG_1');
  });

  it('accepts a single ResultParameter object and an array of ReferenceItems', () => {
    const result = parsed({
      Result: {
        ...B2C_FAILURE.Result,
        ResultParameters: { ResultParameter: { Key: 'TransactionAmount', Value: 50 } },
        ReferenceData: {
          ReferenceItem: [
            { Key: 'QueueTimeoutURL', Value: 'https://x' },
            { Key: 'Occasion', Value: 'Refund' },
          ],
        },
      },
    });
    expect(result.parameters).toEqual({ transactionamount: 50 });
    expect(result.referenceData).toEqual({ queuetimeouturl: 'https://x', occasion: 'Refund' });
  });

  it.each([
    [undefined, 'Result is missing'],
    [{}, 'Result is missing'],
    [{ Result: { ...B2C_SUCCESS.Result, ResultCode: undefined } }, 'Result.ResultCode is missing'],
    [{ Result: { ...B2C_SUCCESS.Result, OriginatorConversationID: undefined } }, 'Result.OriginatorConversationID is missing or malformed'],
    [{ Result: { ...B2C_SUCCESS.Result, ConversationID: 'has spaces <script>' } }, 'Result.ConversationID is missing or malformed'],
  ])('refuses %j: %s', (body, reason) => {
    expect(parseResultCallback(body)).toEqual({ ok: false, reason });
  });
});

describe('parseAccountBalance', () => {
  it('reads every account of the documented sample, as decimal shillings', () => {
    const raw = parsed(BALANCE).parameters['accountbalance'] as string;
    expect(parseAccountBalance(raw)).toEqual([
      { account: 'Working Account', currency: 'KES', current: 700000, available: 700000, reserved: 0, uncleared: 0 },
      { account: 'Float Account', currency: 'KES', current: 0, available: 0, reserved: 0, uncleared: 0 },
      { account: 'Utility Account', currency: 'KES', current: 228037, available: 228037, reserved: 0, uncleared: 0 },
      { account: 'Charges Paid Account', currency: 'KES', current: -1540, available: -1540, reserved: 0, uncleared: 0 },
      { account: 'Organization Settlement Account', currency: 'KES', current: 0, available: 0, reserved: 0, uncleared: 0 },
    ]);
  });

  it('keeps the order of the four figures', () => {
    expect(parseAccountBalance('Working Account|KES|346568.83|6186.83|340382.00|0.00')).toEqual([
      { account: 'Working Account', currency: 'KES', current: 346568.83, available: 6186.83, reserved: 340382, uncleared: 0 },
    ]);
  });

  it('skips a garbled account and returns undefined when none can be read', () => {
    expect(parseAccountBalance('Working Account|KES|abc|0|0|0&Utility Account|KES|5.00|5.00|0.00|0.00')).toHaveLength(1);
    expect(parseAccountBalance('nonsense')).toBeUndefined();
    expect(parseAccountBalance('')).toBeUndefined();
  });
});

describe('b2cResultDetails', () => {
  it('reads the documented success', () => {
    expect(b2cResultDetails(parsed(B2C_SUCCESS))).toEqual({
      amount: 10,
      receipt: 'SG632NMUAB',
      receiverName: 'NICHOLAS JOHN SONGOK',
      receiverMsisdn: '254705912645',
      completedAt: new Date('2024-07-06T19:48:52.000Z'), // 22:48:52 in Nairobi (UTC+3)
      utilityBalance: 8959269.6,
      workingBalance: 1199371,
      chargesPaidBalance: -1980,
      recipientRegistered: true,
    });
  });

  it('has nothing to say about a failure', () => {
    expect(Object.values(b2cResultDetails(parsed(B2C_FAILURE))).every((v) => v === undefined)).toBe(true);
  });
});

describe('parseDottedDarajaTime', () => {
  it('reads Kenya time', () => {
    expect(parseDottedDarajaTime('19.12.2019 11:45:50')).toEqual(new Date('2019-12-19T08:45:50.000Z'));
  });

  it.each(['2019-12-19 11:45:50', '31.02.2024 10:00:00', 20191219114550, undefined])('refuses %p', (value) => {
    expect(parseDottedDarajaTime(value)).toBeUndefined();
  });
});

describe('transactionStatusDetails', () => {
  it('reads the documented result', () => {
    expect(transactionStatusDetails(parsed(TRANSACTION_STATUS))).toEqual({
      status: 'Completed',
      receiptNo: 'MBN31H462N',
      amount: 300,
      conversationId: 'AG_20180223_000041b09c22e613d6c9',
      originatorConversationId: '3211-416020-3',
      initiatedAt: new Date('2018-02-23T02:41:12.000Z'),
      finalisedAt: new Date('2018-02-23T02:41:12.000Z'),
      reasonType: 'Business Payment to Customer via API',
      transactionReason: undefined,
      debitPartyCharges: 'Fee For B2C Payment|KES|22.40',
      debitAccountType: 'Utility Account',
      debitPartyName: '600310 - Safaricom333',
      creditPartyName: '254708374149 - John Doe',
    });
  });

  it('reads the older CreditPartyName and numeric times', () => {
    const details = transactionStatusDetails(
      parsed({
        Result: {
          ...TRANSACTION_STATUS.Result,
          ResultParameters: {
            ResultParameter: [
              { Key: 'CreditPartyName', Value: '254708374149 - John Doe' },
              { Key: 'FinalisedTime', Value: 20170727104247 },
              { Key: 'Amount', Value: 100 },
            ],
          },
        },
      }),
    );
    expect(details).toMatchObject({
      creditPartyName: '254708374149 - John Doe',
      finalisedAt: new Date('2017-07-27T07:42:47.000Z'),
      amount: 100,
    });
  });
});

describe('reversalDetails', () => {
  it('reads the documented success', () => {
    expect(reversalDetails(parsed(REVERSAL_SUCCESS))).toEqual({
      amount: 1,
      originalTransactionId: 'SKC82PACB8',
      charge: 0,
      completedAt: new Date('2021-11-14T10:27:11.000Z'),
      creditPartyName: '254705912645 - NICHOLAS JOHN SONGOK',
      debitPartyName: '600992 - Safaricom Daraja 992',
      debitAccountBalance: [
        { account: 'Utility Account', currency: 'KES', current: 7722179.62, available: 7722179.62, reserved: 0, uncleared: 0 },
      ],
    });
  });
});
