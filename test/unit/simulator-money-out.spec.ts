import { constants, publicEncrypt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkB2cRequest,
  checkBalanceQuery,
  checkReversalRequest,
  checkStatusQuery,
  ExpectedInitiator,
} from '../../src/mpesa/simulator/simulator-checks';
import { decryptSecurityCredential, loadSimulatorKey, projectRoot } from '../../src/mpesa/simulator/simulator-credential';
import { faultEffect } from '../../src/mpesa/simulator/simulator-faults';
import {
  accountBalanceText,
  b2cCompletedDateTime,
  b2cResultPayload,
  balanceResultPayload,
  newConversationId,
  queueTimeoutPayload,
  reversalResultPayload,
  SimulatedB2cPayment,
  statusFailurePayload,
  statusResultPayload,
} from '../../src/mpesa/simulator/simulator-money-out-wire';
import { B2C_QUEUE_TIMEOUT, B2C_SCENARIOS, b2cScenarioFor, DEFAULT_B2C_SCENARIO } from '../../src/mpesa/simulator/simulator-scenarios';

const root = join(__dirname, '..', '..');
const PASSWORD = 'Safaricom999!*!';
const encryptWith = (certFile: string, password: string) =>
  publicEncrypt({ key: readFileSync(join(root, 'certs', certFile)), padding: constants.RSA_PKCS1_PADDING }, Buffer.from(password)).toString(
    'base64',
  );

const key = loadSimulatorKey();
const decrypt = (credential: unknown) => decryptSecurityCredential(key, credential);
const credential = encryptWith('simulator.cer', PASSWORD);
const expected: ExpectedInitiator = { initiatorName: 'testapi', initiatorPassword: PASSWORD, b2cShortcode: '600992', shortcode: '174379' };
const urls = { ResultURL: 'https://example.com/b2c/result?secret=x', QueueTimeOutURL: 'https://example.com/b2c/timeout' };
const now = new Date('2025-03-01T19:48:52.000Z'); // 22:48:52 in Nairobi

function b2cBody(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    OriginatorConversationID: 'refund-4f1c2d',
    InitiatorName: 'testapi',
    SecurityCredential: credential,
    CommandID: 'BusinessPayment',
    Amount: '10',
    PartyA: 600992,
    PartyB: '254708374149',
    Remarks: 'refund',
    ...urls,
    Occassion: 'Refund',
    ...overrides,
  };
}

const errorOf = (result: { ok: boolean; reply?: { status: number; body?: unknown } }) => (result.ok ? undefined : result.reply);

describe('simulator SecurityCredential', () => {
  it('decrypts what the app encrypts with simulator.cer to the plain password', () => {
    expect(decrypt(credential)).toBe(PASSWORD);
  });

  it('finds nothing in a credential made with another certificate, OAEP, or not base64', () => {
    expect(decrypt(encryptWith('sandbox.cer', PASSWORD))).toBeUndefined();
    const oaep = publicEncrypt(readFileSync(join(root, 'certs', 'simulator.cer')), Buffer.from(PASSWORD)).toString('base64');
    expect(decrypt(oaep)).toBeUndefined();
    expect(decrypt('RC6E9WDxXR4b9X2c6z3gp0oC5Th ==')).toBeUndefined();
    expect(decrypt(undefined)).toBeUndefined();
  });

  it('locates the project root from src/ and from dist/src/', () => {
    expect(projectRoot(join(root, 'src', 'mpesa', 'simulator'))).toBe(root);
    expect(projectRoot(join(root, 'dist', 'src', 'mpesa', 'simulator'))).toBe(root);
  });

  it('names the file when the key cannot be loaded', () => {
    expect(() => loadSimulatorKey('/nonexistent/simulator.key')).toThrow('/nonexistent/simulator.key');
  });
});

describe('simulator B2C checks', () => {
  it('accepts the documented v3 sample shape', () => {
    const result = checkB2cRequest(b2cBody(), 'v3', expected, decrypt);
    expect(result).toEqual({
      ok: true,
      value: {
        originatorConversationId: 'refund-4f1c2d',
        initiatorValid: true,
        commandId: 'BusinessPayment',
        amount: 10,
        partyA: '600992',
        phone: '254708374149',
        remarks: 'refund',
        occasion: 'Refund',
        resultUrl: urls.ResultURL,
        queueTimeoutUrl: urls.QueueTimeOutURL,
      },
    });
  });

  it('needs no OriginatorConversationID in v1 and ignores one sent', () => {
    const result = checkB2cRequest(b2cBody({ OriginatorConversationID: undefined }), 'v1', expected, decrypt);
    expect(result.ok && result.value.originatorConversationId).toBeUndefined();
  });

  it('accepts a credential holding the wrong password, to fail it later with 2001 as Daraja does', () => {
    const result = checkB2cRequest(b2cBody({ SecurityCredential: encryptWith('simulator.cer', 'wrong') }), 'v3', expected, decrypt);
    expect(result.ok && result.value.initiatorValid).toBe(false);
  });

  it.each([
    [{ OriginatorConversationID: undefined }, 'OriginatorConversationID'],
    [{ OriginatorConversationID: 'x'.repeat(65) }, 'OriginatorConversationID'],
    [{ InitiatorName: 'apiop37' }, 'InitiatorName'],
    [{ SecurityCredential: encryptWith('sandbox.cer', PASSWORD) }, 'SecurityCredential'],
    [{ CommandID: 'BusinessPayBill' }, 'CommandID'],
    [{ Amount: 9 }, 'Amount'],
    [{ Amount: '250001' }, 'Amount'],
    [{ Amount: '10.5' }, 'Amount'],
    [{ PartyA: '174379' }, 'PartyA'],
    [{ PartyB: '0708374149' }, 'PartyB'],
    [{ Remarks: 'x' }, 'Remarks'],
    [{ Remarks: 'x'.repeat(101) }, 'Remarks'],
    [{ ResultURL: 'ftp://example.com/r' }, 'ResultURL'],
    [{ QueueTimeOutURL: 'https://example.com/a b' }, 'QueueTimeOutURL'],
  ])('rejects %j with 400.002.02 "Bad Request - Invalid %s"', (overrides, field) => {
    const reply = errorOf(checkB2cRequest(b2cBody(overrides), 'v3', expected, decrypt));
    expect(reply?.status).toBe(400);
    expect(reply?.body).toMatchObject({ errorCode: '400.002.02', errorMessage: `Bad Request - Invalid ${field}` });
  });
});

describe('simulator Account Balance, Reversal and Transaction Status checks', () => {
  const balanceBody = (overrides: Record<string, unknown> = {}) => ({
    Initiator: 'testapi',
    SecurityCredential: credential,
    CommandID: 'AccountBalance',
    PartyA: '600992',
    IdentifierType: '4',
    Remarks: 'ok',
    ...urls,
    ...overrides,
  });
  const reversalBody = (overrides: Record<string, unknown> = {}) => ({
    Initiator: 'testapi',
    SecurityCredential: credential,
    CommandID: 'TransactionReversal',
    TransactionID: 'PDU91HIVIT',
    Amount: '200',
    ReceiverParty: '174379',
    RecieverIdentifierType: '11',
    Remarks: 'Payment reversal',
    ...urls,
    ...overrides,
  });
  const statusBody = (overrides: Record<string, unknown> = {}) => ({
    Initiator: 'testapi',
    SecurityCredential: credential,
    CommandID: 'TransactionStatusQuery',
    TransactionID: 'NEF61H8J60',
    PartyA: '600992',
    IdentifierType: '4',
    Remarks: 'OK',
    Occasion: 'OK',
    ...urls,
    ...overrides,
  });

  it('accepts the documented samples (Initiator, not InitiatorName)', () => {
    expect(checkBalanceQuery(balanceBody(), expected, decrypt).ok).toBe(true);
    expect(checkReversalRequest(reversalBody(), expected, decrypt).ok).toBe(true);
    expect(checkStatusQuery(statusBody(), expected, decrypt).ok).toBe(true);
    expect(
      errorOf(checkBalanceQuery(balanceBody({ Initiator: undefined, InitiatorName: 'testapi' }), expected, decrypt))?.body,
    ).toMatchObject({
      errorMessage: 'Bad Request - Invalid Initiator',
    });
  });

  it.each([
    [{ CommandID: 'Balance' }, 'CommandID'],
    [{ PartyA: '174379' }, 'PartyA'],
    [{ IdentifierType: '1' }, 'IdentifierType'],
    [{ SecurityCredential: 'abc' }, 'SecurityCredential'],
  ])('Account Balance rejects %j as Invalid %s', (overrides, field) => {
    expect(errorOf(checkBalanceQuery(balanceBody(overrides), expected, decrypt))?.body).toMatchObject({
      errorMessage: `Bad Request - Invalid ${field}`,
    });
  });

  it("insists on Safaricom's misspelt RecieverIdentifierType", () => {
    const spelledRight = reversalBody({ RecieverIdentifierType: undefined, ReceiverIdentifierType: '11' });
    expect(errorOf(checkReversalRequest(spelledRight, expected, decrypt))).toMatchObject({
      status: 400,
      body: { errorCode: '400.002.02', errorMessage: 'Bad Request - Invalid RecieverIdentifierType' },
    });
    expect(checkReversalRequest(reversalBody({ RecieverIdentifierType: 4 }), expected, decrypt).ok).toBe(true);
  });

  it.each([
    [{ TransactionID: 'PDU91HIVI' }, 'TransactionID'],
    [{ Amount: 0 }, 'Amount'],
    [{ ReceiverParty: '600992' }, 'ReceiverParty'],
    [{ RecieverIdentifierType: '1' }, 'RecieverIdentifierType'],
  ])('Reversal rejects %j as Invalid %s', (overrides, field) => {
    expect(errorOf(checkReversalRequest(reversalBody(overrides), expected, decrypt))?.body).toMatchObject({
      errorMessage: `Bad Request - Invalid ${field}`,
    });
  });

  it('Transaction Status takes the receipt first, then either conversation-id spelling, and needs one of them', () => {
    const result = checkStatusQuery(
      statusBody({ OriginalConversationID: 'AG_20250301_00001', OriginatorConversationID: 'refund-1' }),
      expected,
      decrypt,
    );
    expect(result.ok && result.value.ids).toEqual(['NEF61H8J60', 'refund-1', 'AG_20250301_00001']);
    expect(checkStatusQuery(statusBody({ TransactionID: undefined, OriginatorConversationID: 'refund-1' }), expected, decrypt).ok).toBe(
      true,
    );
    expect(errorOf(checkStatusQuery(statusBody({ TransactionID: '' }), expected, decrypt))?.body).toMatchObject({
      errorMessage: 'Bad Request - Invalid TransactionID',
    });
  });

  it('Transaction Status accepts either shortcode as PartyA', () => {
    expect(checkStatusQuery(statusBody({ PartyA: '174379' }), expected, decrypt).ok).toBe(true);
    expect(errorOf(checkStatusQuery(statusBody({ PartyA: '600000' }), expected, decrypt))?.body).toMatchObject({
      errorMessage: 'Bad Request - Invalid PartyA',
    });
  });
});

describe('simulator B2C scenarios', () => {
  it('maps each table number to its own outcome and any other number to a paid success', () => {
    expect(new Set(B2C_SCENARIOS.map((s) => s.phone)).size).toBe(B2C_SCENARIOS.length);
    expect(b2cScenarioFor('254712345678')).toBe(DEFAULT_B2C_SCENARIO);
    expect(b2cScenarioFor('254700000001')).toMatchObject({ paid: false, resultCode: 1, delivery: 'result' });
    expect(b2cScenarioFor('254700002001')).toMatchObject({ paid: false, resultCode: 2001 });
  });

  it('tells the queue-timeout and silent scenarios apart by whether money left', () => {
    expect(b2cScenarioFor('254700000010')).toMatchObject({ paid: false, delivery: 'queue_timeout' });
    expect(b2cScenarioFor('254700000011')).toMatchObject({ paid: true, delivery: 'queue_timeout' });
    expect(b2cScenarioFor('254700000012')).toMatchObject({ paid: true, delivery: 'none' });
  });

  it('hides 254700000007 from two status queries and pays 254700000008 to another receiver', () => {
    expect(b2cScenarioFor('254700000007')).toMatchObject({ paid: true, delivery: 'none', statusMisses: 2 });
    expect(b2cScenarioFor('254700000008')).toMatchObject({ paid: true, delivery: 'result', receiver: '254705912645' });
  });
});

describe('simulator money-out wire', () => {
  const paid: SimulatedB2cPayment = {
    originatorConversationId: 'refund-4f1c2d',
    conversationId: 'AG_20250301_20106e9209f64bebd05b',
    version: 'v3',
    commandId: 'BusinessPayment',
    amount: 10,
    partyA: '600992',
    phone: '254705912645',
    remarks: 'refund',
    resultUrl: urls.ResultURL,
    queueTimeoutUrl: urls.QueueTimeOutURL,
    outcome: 'success',
    paid: true,
    delivery: 'result',
    resultCode: 0,
    resultDesc: 'The service request is processed successfully.',
    transactionId: 'SG632NMUAB',
    receipt: 'SG632NMUAB',
    utilityAfterCents: 8_959_269_60,
    workingAfterCents: 1_199_371_00,
    createdAt: now.toISOString(),
    completedAt: now.toISOString(),
  };

  it('builds the documented success result, with numbers where Daraja sends numbers', () => {
    const { Result } = b2cResultPayload(paid);
    expect(Result).toMatchObject({ ResultType: 0, ResultCode: 0, TransactionID: 'SG632NMUAB', OriginatorConversationID: 'refund-4f1c2d' });
    expect(Result.ResultParameters?.ResultParameter).toEqual([
      { Key: 'TransactionAmount', Value: 10 },
      { Key: 'TransactionReceipt', Value: 'SG632NMUAB' },
      { Key: 'ReceiverPartyPublicName', Value: '254705912645 - JOHN DOE' },
      { Key: 'TransactionCompletedDateTime', Value: '01.03.2025 22:48:52' },
      { Key: 'B2CUtilityAccountAvailableFunds', Value: 8959269.6 },
      { Key: 'B2CWorkingAccountAvailableFunds', Value: 1199371 },
      { Key: 'B2CRecipientIsRegisteredCustomer', Value: 'Y' },
      { Key: 'B2CChargesPaidAccountAvailableFunds', Value: -1540 },
    ]);
    expect(Result.ReferenceData.ReferenceItem).toEqual({
      Key: 'QueueTimeoutURL',
      Value: 'https://internalsandbox.safaricom.co.ke/mpesa/b2cresults/v1/submit',
    });
  });

  it('names the receiver the money reached when it differs from PartyB', () => {
    const params = b2cResultPayload({ ...paid, receiverPhone: '254711000001' }).Result.ResultParameters?.ResultParameter;
    expect(params).toContainEqual({ Key: 'ReceiverPartyPublicName', Value: '254711000001 - JOHN DOE' });
  });

  it('leaves ResultParameters out of a failure', () => {
    const failed = { ...paid, paid: false, receipt: undefined, resultCode: 2001, resultDesc: 'The initiator information is invalid.' };
    const { Result } = b2cResultPayload(failed);
    expect(Result).not.toHaveProperty('ResultParameters');
    expect(Result).toMatchObject({ ResultCode: 2001, TransactionID: 'SG632NMUAB' });
  });

  it('sends the queue timeout in the same Result envelope', () => {
    expect(queueTimeoutPayload(paid, B2C_QUEUE_TIMEOUT).Result).toMatchObject({
      ResultType: 0,
      ResultCode: 1,
      ResultDesc: 'The request timed out while waiting in the queue',
      OriginatorConversationID: 'refund-4f1c2d',
      ConversationID: paid.conversationId,
    });
  });

  it("formats Account Balance like Daraja's sample, with string ResultCode and Kenya-time BOCompletedTime", () => {
    const text = accountBalanceText({ utilityCents: 228_037_00, workingCents: 700_000_00 });
    expect(text).toBe(
      'Working Account|KES|700000.00|700000.00|0.00|0.00&Float Account|KES|0.00|0.00|0.00|0.00&Utility Account|KES|228037.00|228037.00|0.00|0.00&Charges Paid Account|KES|-1540.00|-1540.00|0.00|0.00&Organization Settlement Account|KES|0.00|0.00|0.00|0.00',
    );
    const { Result } = balanceResultPayload(
      { originatorConversationId: '515-5258779-3', conversationId: 'AG_x' },
      { utilityCents: 1, workingCents: 0 },
      now,
    );
    expect(Result).toMatchObject({ ResultType: '0', ResultCode: '0' });
    expect(Result.ResultParameters?.ResultParameter[1]).toEqual({ Key: 'BOCompletedTime', Value: '20250301224852' });
  });

  it('reports a reversal with a numeric TransCompletedTime and both public names', () => {
    const params = reversalResultPayload(
      {
        originalReceipt: 'SKC82PACB8',
        reversalReceipt: 'SKE52PAWR9',
        checkoutRequestId: 'ws_CO_1',
        amount: 1,
        phone: '254705912645',
        originatorConversationId: '1-2-3',
        conversationId: 'AG_x',
        utilityAfterCents: 7_722_179_62,
        createdAt: now.toISOString(),
      },
      '174379',
    ).Result.ResultParameters?.ResultParameter;
    expect(params).toEqual([
      { Key: 'DebitAccountBalance', Value: 'Utility Account|KES|7722179.62|7722179.62|0.00|0.00' },
      { Key: 'Amount', Value: 1 },
      { Key: 'TransCompletedTime', Value: 20250301224852 },
      { Key: 'OriginalTransactionID', Value: 'SKC82PACB8' },
      { Key: 'Charge', Value: 0 },
      { Key: 'CreditPartyPublicName', Value: '254705912645 - JOHN DOE' },
      { Key: 'DebitPartyPublicName', Value: '174379 - Daraja Simulator' },
    ]);
  });

  it('reports a found transaction as Completed with its receipt, and an unknown one as 2033', () => {
    const ids = { originatorConversationId: '3213-416199-2', conversationId: 'AG_q' };
    const found = statusResultPayload(ids, {
      receipt: 'MBN31H462N',
      amount: 300,
      debitPartyName: '600992 - Daraja Simulator',
      creditPartyName: '254708374149 - JOHN DOE',
      originatorConversationId: 'refund-1',
      conversationId: 'AG_p',
      initiatedAt: now,
      finalisedAt: now,
      reasonType: 'Business Payment to Customer via API',
      debitAccountType: 'Utility Account',
    }).Result;
    const byKey = Object.fromEntries((found.ResultParameters?.ResultParameter ?? []).map((p) => [p.Key, p.Value]));
    expect(byKey).toMatchObject({
      TransactionStatus: 'Completed',
      ReceiptNo: 'MBN31H462N',
      Amount: '300',
      OriginatorConversationID: 'refund-1',
    });
    expect(found).toMatchObject({ ResultCode: 0, TransactionID: 'MBN0000000', ReferenceData: { ReferenceItem: { Key: 'Occasion' } } });
    expect(statusFailurePayload(ids, 2033, 'not found').Result).not.toHaveProperty('ResultParameters');
  });

  it('formats ids and times as Daraja does', () => {
    expect(newConversationId(now)).toMatch(/^AG_20250301_[0-9a-f]{20}$/);
    expect(b2cCompletedDateTime(new Date('2024-07-06T19:48:52Z'))).toBe('06.07.2024 22:48:52');
  });
});

describe('simulator money-out faults', () => {
  it.each([
    ['b2c', 401, '401.002.01'],
    ['balance', 401, '401.002.01'],
    ['transactionstatus', 400, '400.003.01'],
    ['reversal', 404, '404.001.03'],
  ] as const)('answers an invalid_token fault on %s with HTTP %i %s, the shape that API documents', (endpoint, status, errorCode) => {
    const effect = faultEffect(endpoint, { kind: 'invalid_token' });
    const reply = effect.when === 'before' && effect.action === 'answer' ? effect.reply : undefined;
    expect(reply?.status).toBe(status);
    expect(reply?.body).toMatchObject({ errorCode, errorMessage: expect.stringMatching(/Invalid Access Token/) });
  });
});
