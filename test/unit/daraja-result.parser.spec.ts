import {
  b2cResultDetails,
  parseAccountBalance,
  parseDottedDarajaTime,
  ParsedResult,
  parseResultCallback,
  reversalDetails,
  transactionStatusDetails,
} from '../../src/mpesa/daraja-result.parser';

// Samples copied from docs/daraja.md (Safaricom's Daraja 3.0 pages unless noted).

/** §5.3, D-B2C success. */
const B2C_SUCCESS = {
  Result: {
    ResultType: 0,
    ResultCode: 0,
    ResultDesc: 'The service request is processed successfully.',
    OriginatorConversationID: '53e3-4aa8-9fe0-8fb5e4092cdd3533373',
    ConversationID: 'AG_20240706_2010364430d9bbdaf872',
    TransactionID: 'SG632NMUAB',
    ResultParameters: {
      ResultParameter: [
        { Key: 'TransactionAmount', Value: 10 },
        { Key: 'TransactionReceipt', Value: 'SG632NMUAB' },
        { Key: 'ReceiverPartyPublicName', Value: '254705912645 - NICHOLAS JOHN SONGOK' },
        { Key: 'TransactionCompletedDateTime', Value: '06.07.2024 22:48:52' },
        { Key: 'B2CUtilityAccountAvailableFunds', Value: 8959269.6 },
        { Key: 'B2CWorkingAccountAvailableFunds', Value: 1199371.0 },
        { Key: 'B2CRecipientIsRegisteredCustomer', Value: 'Y' },
        { Key: 'B2CChargesPaidAccountAvailableFunds', Value: -1980.0 },
      ],
    },
    ReferenceData: {
      ReferenceItem: { Key: 'QueueTimeoutURL', Value: 'https://internalsandbox.safaricom.co.ke/mpesa/b2cresults/v1/submit' },
    },
  },
};

/** §5.3, D-B2C failure: no ResultParameters. */
const B2C_FAILURE = {
  Result: {
    ResultType: 0,
    ResultCode: 2001,
    ResultDesc: 'The initiator information is invalid.',
    OriginatorConversationID: '53e3-4aa8-9fe0-8fb5e4092cdd3544366',
    ConversationID: 'AG_20240707_201062f6f6f5804f7a33',
    TransactionID: 'SG722NMVXQ',
    ReferenceData: {
      ReferenceItem: { Key: 'QueueTimeoutURL', Value: 'https://internalsandbox.safaricom.co.ke/mpesa/b2cresults/v1/submit' },
    },
  },
};

/** §6, D-BAL: codes as strings. */
const BALANCE = {
  Result: {
    ResultType: '0',
    ResultCode: '0',
    ResultDesc: 'The service request is processed successfully',
    OriginatorConversationID: '16917-22577599-3',
    ConversationID: 'AG_20200206_00005e091a8ec6b9eac5',
    TransactionID: 'OA90000000',
    ResultParameters: {
      ResultParameter: [
        {
          Key: 'AccountBalance',
          Value:
            'Working Account|KES|700000.00|700000.00|0.00|0.00&Float Account|KES|0.00|0.00|0.00|0.00&Utility Account|KES|228037.00|228037.00|0.00|0.00&Charges Paid Account|KES|-1540.00|-1540.00|0.00|0.00&Organization Settlement Account|KES|0.00|0.00|0.00|0.00',
        },
        { Key: 'BOCompletedTime', Value: '20200109125710' },
      ],
    },
    ReferenceData: {
      ReferenceItem: { Key: 'QueueTimeoutURL', Value: 'https://internalsandbox.safaricom.co.ke/mpesa/abresults/v1/submit' },
    },
  },
};

/** §7, D-REV success. */
const REVERSAL_SUCCESS = {
  Result: {
    ResultType: 0,
    ResultCode: 0,
    ResultDesc: 'The service request is processed successfully.',
    OriginatorConversationID: 'dad6-4c34-8787-c8cb963a496d1268232',
    ConversationID: 'AG_20211114_201018edbbf9f1582eaa',
    TransactionID: 'SKE52PAWR9',
    ResultParameters: {
      ResultParameter: [
        { Key: 'DebitAccountBalance', Value: 'Utility Account|KES|7722179.62|7722179.62|0.00|0.00' },
        { Key: 'Amount', Value: 1.0 },
        { Key: 'TransCompletedTime', Value: 20211114132711 },
        { Key: 'OriginalTransactionID', Value: 'SKC82PACB8' },
        { Key: 'Charge', Value: 0.0 },
        { Key: 'CreditPartyPublicName', Value: '254705912645 - NICHOLAS JOHN SONGOK' },
        { Key: 'DebitPartyPublicName', Value: '600992 - Safaricom Daraja 992' },
      ],
    },
    ReferenceData: {
      ReferenceItem: { Key: 'QueueTimeoutURL', Value: 'https://internalsandbox.safaricom.co.ke/mpesa/reversalresults/v1/submit' },
    },
  },
};

/** §7, D-REV failure: an alphanumeric code. */
const REVERSAL_FAILURE = {
  Result: {
    ResultType: 0,
    ResultCode: 'R000002',
    ResultDesc: 'The OriginalTransactionID is invalid.',
    OriginatorConversationID: '3124-481d-b706-10bdd6fbc8e21792398',
    ConversationID: 'AG_20211114_2010573069aefb6b625a',
    TransactionID: 'SKE0000000',
    ReferenceData: {
      ReferenceItem: { Key: 'QueueTimeoutURL', Value: 'https://internalsandbox.safaricom.co.ke/mpesa/reversalresults/v1/submit' },
    },
  },
};

/** §8, D-TS: DebitPartyName twice, a parameter without Value, a ReferenceItem without Value. */
const TRANSACTION_STATUS = {
  Result: {
    ConversationID: 'AG_20180223_0000493344ae97d86f75',
    OriginatorConversationID: '3213-416199-2',
    ReferenceData: { ReferenceItem: { Key: 'Occasion' } },
    ResultCode: 0,
    ResultDesc: 'The service request is processed successfully.',
    ResultParameters: {
      ResultParameter: [
        { Key: 'DebitPartyName', Value: '600310 - Safaricom333' },
        { Key: 'DebitPartyName', Value: '254708374149 - John Doe' },
        { Key: 'OriginatorConversationID', Value: '3211-416020-3' },
        { Key: 'InitiatedTime', Value: '20180223054112' },
        { Key: 'DebitAccountType', Value: 'Utility Account' },
        { Key: 'DebitPartyCharges', Value: 'Fee For B2C Payment|KES|22.40' },
        { Key: 'TransactionReason' },
        { Key: 'ReasonType', Value: 'Business Payment to Customer via API' },
        { Key: 'TransactionStatus', Value: 'Completed' },
        { Key: 'FinalisedTime', Value: '20180223054112' },
        { Key: 'Amount', Value: '300' },
        { Key: 'ConversationID', Value: 'AG_20180223_000041b09c22e613d6c9' },
        { Key: 'ReceiptNo', Value: 'MBN31H462N' },
      ],
    },
    ResultType: 0,
    TransactionID: 'MBN0000000',
  },
};

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
