import { Logger } from '@nestjs/common';
import { constants, privateDecrypt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildConfig, MpesaSettings } from '../../src/config/configuration';
import { validateEnv } from '../../src/config/env.validation';
import { DarajaAuthService } from '../../src/mpesa/daraja-auth.service';
import { DarajaCallBudgetService } from '../../src/mpesa/daraja-call-budget.service';
import { DarajaConfigurationError, DarajaError, DarajaOutcome, isDuplicateOriginatorConversationId } from '../../src/mpesa/daraja-errors';
import { DarajaClient } from '../../src/mpesa/daraja.client';
import { DarajaHttp, DarajaHttpAnswer, DarajaHttpRequest } from '../../src/mpesa/daraja-http';
import { DarajaCallRecord } from '../../src/mpesa/daraja.types';
import { SecurityCredentialService } from '../../src/mpesa/security-credential';

const simulatorKey = readFileSync(join(__dirname, '..', '..', 'certs', 'simulator.key'));
const ACCEPTED = {
  OriginatorConversationID: 'lp_payout_1',
  ConversationID: 'AG_20240706_20106e9209f64bebd05b',
  ResponseCode: '0',
  ResponseDescription: 'Accept the service request successfully.',
};
const URLS = {
  resultUrl: 'https://h.example/api/payments/daraja/b2c-callback?id=1',
  queueTimeoutUrl: 'https://h.example/api/payments/daraja/timeout?id=1',
};

function decrypt(credential: string): string {
  const block = privateDecrypt({ key: simulatorKey, padding: constants.RSA_NO_PADDING }, Buffer.from(credential, 'base64'));
  return block.subarray(block.indexOf(0, 2) + 1).toString('utf8');
}

function setup(env: Record<string, string> = {}) {
  const settings: MpesaSettings = buildConfig(validateEnv({ MPESA_B2C_SHORTCODE: '600997', ...env })).mpesa;
  const auth = {
    getToken: jest.fn().mockResolvedValueOnce('token-1').mockResolvedValue('token-2'),
    invalidate: jest.fn().mockResolvedValue(undefined),
  };
  const records: DarajaCallRecord[] = [];
  // The call budget lives in Redis (test/e2e/daraja-budget.e2e-spec.ts); here every call gets its slot at once.
  const budget = { acquire: jest.fn().mockResolvedValue(undefined), reportRateLimited: jest.fn().mockResolvedValue(undefined) };
  const client = new DarajaClient(
    settings,
    auth as unknown as DarajaAuthService,
    new SecurityCredentialService(settings),
    budget as unknown as DarajaCallBudgetService,
    {
      record: async (call) => void records.push(call),
    },
    // Daraja's side of the wire: what was sent is in fetchMock's calls, its answers are queued on it.
    { send: (request: DarajaHttpRequest) => fetchMock(request) } as unknown as DarajaHttp,
  );
  return { client, auth, records, settings };
}

function answer(status: number, body: unknown): DarajaHttpAnswer {
  return { status, text: JSON.stringify(body), date: null };
}

let fetchMock: jest.Mock<Promise<DarajaHttpAnswer>, [DarajaHttpRequest]>;
const sentRequest = (i = 0) => fetchMock.mock.calls[i][0];
const sent = (i = 0) => ({ url: sentRequest(i).path, body: JSON.parse(String(sentRequest(i).body)) });

beforeAll(() => Logger.overrideLogger(false));
beforeEach(() => {
  fetchMock = jest.fn<Promise<DarajaHttpAnswer>, [DarajaHttpRequest]>().mockResolvedValue(answer(200, ACCEPTED));
});

describe('DarajaClient.b2cPayment', () => {
  const input = {
    originatorConversationId: 'lp_payout_1',
    commandId: 'BusinessPayment' as const,
    amount: 150,
    phone: '254708374149',
    remarks: 'Refund: order #42!',
    occasion: 'Refund',
    ...URLS,
  };

  it("sends the v3 request in Daraja's field names, with our OriginatorConversationID", async () => {
    const { client } = setup();
    await expect(client.b2cPayment(input, { reference: 'p1' })).resolves.toEqual(ACCEPTED);
    const { url, body } = sent();
    expect(url).toBe('/mpesa/b2c/v3/paymentrequest');
    expect(body).toEqual({
      OriginatorConversationID: 'lp_payout_1',
      InitiatorName: 'testapi',
      SecurityCredential: expect.any(String),
      CommandID: 'BusinessPayment',
      Amount: 150,
      PartyA: '600997',
      PartyB: 254708374149,
      Remarks: 'Refund order 42',
      QueueTimeOutURL: URLS.queueTimeoutUrl,
      ResultURL: URLS.resultUrl,
      Occassion: 'Refund',
    });
    expect(decrypt(body.SecurityCredential)).toBe('Safaricom999!*!');
    expect(sentRequest(0).headers).toMatchObject({ Authorization: 'Bearer token-1' });
  });

  it('never sends B2C v1 (no OriginatorConversationID): MPESA_B2C_API_VERSION=v1 stops the start', () => {
    expect(() => setup({ MPESA_B2C_API_VERSION: 'v1' })).toThrow(/MPESA_B2C_API_VERSION: must be v3/);
    expect(fetchMock).not.toHaveBeenCalled();
  });

  it('records the call redacted, keeping the initiator', async () => {
    const { client, records } = setup();
    await client.b2cPayment(input, { reference: 'p1' });
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      api: 'B2C',
      endpoint: '/mpesa/b2c/v3/paymentrequest',
      outcome: 'ok',
      transactionId: 'lp_payout_1',
      context: { reference: 'p1' },
    });
    expect(records[0].request).toMatchObject({ InitiatorName: 'testapi', SecurityCredential: '[REDACTED]', PartyB: '2547****149' });
  });

  it('refreshes a refused token and resends once', async () => {
    const { client, auth } = setup();
    fetchMock.mockResolvedValueOnce(
      answer(401, { requestId: 'r', errorCode: '401.002.01', errorMessage: 'Error Occurred - Invalid Access Token - token-1' }),
    );
    await expect(client.b2cPayment(input)).resolves.toEqual(ACCEPTED);
    expect(auth.invalidate).toHaveBeenCalledWith('token-1');
    expect(fetchMock).toHaveBeenCalledTimes(2);
    expect(sentRequest(1).headers).toMatchObject({ Authorization: 'Bearer token-2' });
  });

  it('reports a duplicate OriginatorConversationID as a refusal callers can recognise', async () => {
    const { client } = setup();
    fetchMock.mockResolvedValueOnce(
      answer(500, { requestId: 'r', errorCode: '500.002.1001', errorMessage: 'Duplicate OriginatorConversationID.' }),
    );
    const error = await client.b2cPayment(input).catch((e: unknown) => e);
    expect(isDuplicateOriginatorConversationId(error)).toBe(true);
  });

  it('treats a non-zero ResponseCode as a refusal', async () => {
    const { client } = setup();
    fetchMock.mockResolvedValueOnce(answer(200, { ...ACCEPTED, ResponseCode: '1', ResponseDescription: 'Rejected' }));
    await expect(client.b2cPayment(input)).rejects.toMatchObject({ outcome: DarajaOutcome.Rejected, errorCode: '1', message: 'Rejected' });
  });

  it('fails before sending anything when the initiator is not configured', async () => {
    const { client, records } = setup({
      MPESA_CONSUMER_KEY: 'k',
      MPESA_CONSUMER_SECRET: 's',
      MPESA_STK_CALLBACK_URL: 'https://h.example/cb',
    });
    const error = await client.b2cPayment(input).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DarajaConfigurationError);
    expect(error).toBeInstanceOf(DarajaError);
    expect((error as Error).message).toMatch(/MPESA_INITIATOR_NAME/);
    expect(fetchMock).not.toHaveBeenCalled();
    expect(records).toEqual([]);
  });
});

describe('DarajaClient.accountBalance', () => {
  it('queries the B2C shortcode as an organisation', async () => {
    const { client, records } = setup();
    await client.accountBalance({ remarks: 'Balance before refund', ...URLS });
    expect(sent().url).toMatch(/\/mpesa\/accountbalance\/v1\/query$/);
    expect(sent().body).toEqual({
      Initiator: 'testapi',
      SecurityCredential: expect.any(String),
      CommandID: 'AccountBalance',
      PartyA: '600997',
      IdentifierType: '4',
      Remarks: 'Balance before refund',
      QueueTimeOutURL: URLS.queueTimeoutUrl,
      ResultURL: URLS.resultUrl,
    });
    expect(records[0].api).toBe('ACCOUNT_BALANCE');
  });
});

describe('DarajaClient.transactionReversal', () => {
  it("reverses to the STK shortcode with Safaricom's misspelt RecieverIdentifierType", async () => {
    const { client, settings } = setup();
    await client.transactionReversal({ transactionId: 'PDU91HIVIT', amount: 200, remarks: 'x', ...URLS });
    expect(sent().url).toMatch(/\/mpesa\/reversal\/v1\/request$/);
    expect(sent().body).toEqual({
      Initiator: 'testapi',
      SecurityCredential: expect.any(String),
      CommandID: 'TransactionReversal',
      TransactionID: 'PDU91HIVIT',
      Amount: 200,
      ReceiverParty: settings.shortcode,
      RecieverIdentifierType: '11',
      ResultURL: URLS.resultUrl,
      QueueTimeOutURL: URLS.queueTimeoutUrl,
      Remarks: 'Reversal', // "x" is shorter than Daraja's 2-character minimum
    });
  });
});

describe('DarajaClient.transactionStatus', () => {
  it('asks by OriginatorConversationID under both field names', async () => {
    const { client, records } = setup();
    await client.transactionStatus({ originatorConversationId: 'lp_payout_1', remarks: 'Status', ...URLS });
    expect(sent().url).toMatch(/\/mpesa\/transactionstatus\/v1\/query$/);
    expect(sent().body).toEqual({
      Initiator: 'testapi',
      SecurityCredential: expect.any(String),
      CommandID: 'TransactionStatusQuery',
      OriginalConversationID: 'lp_payout_1',
      OriginatorConversationID: 'lp_payout_1',
      PartyA: '600997',
      IdentifierType: '4',
      ResultURL: URLS.resultUrl,
      QueueTimeOutURL: URLS.queueTimeoutUrl,
      Remarks: 'Status',
    });
    expect(records[0].api).toBe('TRANSACTION_STATUS');
  });

  it('asks by receipt', async () => {
    const { client } = setup();
    await client.transactionStatus({ transactionId: 'SG632NMUAB', remarks: 'Status', occasion: 'Check', ...URLS });
    expect(sent().body).toMatchObject({ TransactionID: 'SG632NMUAB', Occasion: 'Check' });
    expect(sent().body).not.toHaveProperty('OriginalConversationID');
  });

  it('needs one of the two', async () => {
    const { client } = setup();
    await expect(client.transactionStatus({ remarks: 'Status', ...URLS })).rejects.toThrow(/transactionId or an originatorConversationId/);
  });
});

describe('DarajaClient.b2cPayment guards', () => {
  const base = { originatorConversationId: 'lp_payout_2', commandId: 'BusinessPayment' as const, remarks: 'Refund', ...URLS };

  it.each([
    [{ phone: '0708374149', amount: 100 }, /the phone is not a 2547XXXXXXXX/],
    [{ phone: '254708374149', amount: 10.5 }, /whole shillings/],
  ])('refuses %j before sending', async (input, message) => {
    const { client } = setup();
    await expect(client.b2cPayment({ ...base, ...input })).rejects.toThrow(message);
    await expect(client.b2cPayment({ ...base, ...input })).rejects.toMatchObject({ outcome: DarajaOutcome.Rejected });
    expect(fetchMock).not.toHaveBeenCalled();
  });
});
