// The simulator's ambiguous outcomes (faults and scenarios behind the outcome model), end to end through the
// simulator's own controllers and services, on the real Redis (its Lua scripts run as in production): every test
// gets an empty keyspace under the run's key prefix (test/support/integration.ts).
import Fastify, { FastifyInstance } from 'fastify';
import type { ConfigType } from '@nestjs/config';
import { constants, publicEncrypt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { mpesaConfig, simulatorConfig } from '../../src/config/configuration';
import { SimulatorRecorder } from '../../src/mpesa/simulator/simulator-recorder';
import { SimulatorKeys } from '../../src/mpesa/simulator/simulator-redis';
import { darajaTimestamp, stkPassword } from '../../src/mpesa/daraja-time';
import { BAD_GATEWAY_HTML } from '../../src/mpesa/simulator/daraja-errors';
import { SimulatorControlController } from '../../src/mpesa/simulator/simulator-control.controller';
import type { FaultKind, SimulatedEndpoint } from '../../src/mpesa/simulator/simulator-faults';
import type { DarajaResult } from '../../src/mpesa/simulator/simulator-money-out-wire';
import { SimulatorMoneyOutController } from '../../src/mpesa/simulator/simulator-money-out.controller';
import { SimulatorMoneyOutService } from '../../src/mpesa/simulator/simulator-money-out.service';
import { REVERSAL_REFUSED_AMOUNT } from '../../src/mpesa/simulator/simulator-scenarios';
import type { StkCallbackPayload } from '../../src/mpesa/simulator/simulator-wire';
import { DarajaSimulatorController } from '../../src/mpesa/simulator/simulator.controller';
import { DarajaSimulatorService } from '../../src/mpesa/simulator/simulator.service';
import { IntegrationRedis, openIntegrationRedis } from '../support/integration';

// ---- The simulator, wired as DarajaSimulatorModule wires it, behind a bare Fastify ----

const PASSWORD = 'Safaricom999!*!';
const mpesa = {
  shortcode: '174379',
  partyB: '174379',
  passkey: 'bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919',
  consumerKey: 'simulator-consumer-key',
  consumerSecret: 'simulator-consumer-secret',
  initiatorName: 'testapi',
  initiatorPassword: PASSWORD,
  b2cShortcode: '600992',
} as unknown as ConfigType<typeof mpesaConfig>;
/** Short clocks so that a test can wait for a settlement; the late callback is the lock the 254700000006 push holds. */
const settings = {
  enabled: true,
  callbackDelayMs: 20,
  lateCallbackMs: 200,
  noAnswerMs: 200,
  tokenTtlSeconds: 3599,
} as ConfigType<typeof simulatorConfig>;
const credential = publicEncrypt(
  { key: readFileSync(join(__dirname, '..', '..', 'certs', 'simulator.cer')), padding: constants.RSA_PKCS1_PADDING },
  Buffer.from(PASSWORD),
).toString('base64');
const urls = { ResultURL: 'https://app.example/result?token=x', QueueTimeOutURL: 'https://app.example/timeout?token=x' };
const stkCallbackUrl = 'https://app.example/stk-callback?pid=p1&token=x';

interface Posted {
  label: string;
  url: string;
  payload: unknown;
  delayMs: number;
}

let simulator: DarajaSimulatorService;
let recorder: SimulatorRecorder;
let moneyOut: SimulatorMoneyOutService;
let http: FastifyInstance;
let posted: Posted[];
let bearer: string;
let store: IntegrationRedis;

beforeAll(async () => {
  store = await openIntegrationRedis();
});

afterAll(async () => {
  await store?.close();
});

beforeEach(async () => {
  const redis = store.redis;
  // A key prefix per test: each starts from an empty simulator (no stats, faults, locks, pushes nor payouts).
  const keys = new SimulatorKeys({ redis: { keyPrefix: store.newKeyPrefix() } } as ConfigType<typeof simulatorConfig>);
  recorder = new SimulatorRecorder(redis, keys, settings);
  simulator = new DarajaSimulatorService(mpesa, settings, redis, keys, recorder);
  moneyOut = new SimulatorMoneyOutService(mpesa, settings, redis, keys, simulator);
  // Callbacks are recorded, not sent: what matters is what was scheduled, to where, and when.
  posted = [];
  jest.spyOn(simulator, 'schedulePost').mockImplementation((label, url, payload, delayMs) => {
    posted.push({ label, url, payload, delayMs });
  });
  jest.spyOn(simulator, 'postCallback').mockResolvedValue(undefined);

  const daraja = new DarajaSimulatorController(simulator);
  const out = new SimulatorMoneyOutController(simulator, moneyOut);
  const control = new SimulatorControlController(simulator, moneyOut, recorder);
  type Req = { headers: { authorization?: string }; body: unknown };
  http = Fastify();
  http.post('/stkpush', (req: Req, reply) => daraja.stkPush(req.headers.authorization, req.body, reply));
  http.post('/stkquery', (req: Req, reply) => daraja.stkQuery(req.headers.authorization, req.body, reply));
  http.post('/b2c/v3', (req: Req, reply) => out.b2cV3(req.headers.authorization, req.body, reply));
  http.post('/balance', (req: Req, reply) => out.accountBalance(req.headers.authorization, req.body, reply));
  http.post('/reversal', (req: Req, reply) => out.reversal(req.headers.authorization, req.body, reply));
  http.post('/transactionstatus', (req: Req, reply) => out.transactionStatus(req.headers.authorization, req.body, reply));
  http.post('/control/faults', (req: Req, reply) => control.queueFaults(req.body as never, reply));
  await http.ready();

  const token = await simulator.issueToken(
    'client_credentials',
    `Basic ${Buffer.from(`${mpesa.consumerKey}:${mpesa.consumerSecret}`).toString('base64')}`,
  );
  bearer = `Bearer ${(token.body as { access_token: string }).access_token}`;
});

afterEach(async () => {
  jest.restoreAllMocks();
  await http.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function call(path: string, body: unknown) {
  const res = await http.inject({ method: 'POST', url: path, headers: { authorization: bearer }, payload: body as object });
  const json = String(res.headers['content-type']).startsWith('application/json') ? (res.json() as Record<string, any>) : undefined;
  return { status: res.statusCode, contentType: res.headers['content-type'], text: res.body, json };
}

async function queueFault(endpoint: SimulatedEndpoint, kind: FaultKind, count?: number) {
  const res = await http.inject({ method: 'POST', url: '/control/faults', payload: { endpoint, kind, count } });
  return { status: res.statusCode, json: res.json() as Record<string, any> };
}

function stkPushBody(phone: string, amount = 100): Record<string, unknown> {
  const timestamp = darajaTimestamp(new Date());
  return {
    BusinessShortCode: 174379,
    Password: stkPassword(mpesa.shortcode, mpesa.passkey, timestamp),
    Timestamp: timestamp,
    TransactionType: 'CustomerPayBillOnline',
    Amount: amount,
    PartyA: Number(phone),
    PartyB: 174379,
    PhoneNumber: Number(phone),
    CallBackURL: stkCallbackUrl,
    AccountReference: 'INV-1',
    TransactionDesc: 'Legal fee',
  };
}

function stkQueryBody(checkoutRequestId: string): Record<string, unknown> {
  const timestamp = darajaTimestamp(new Date());
  return {
    BusinessShortCode: '174379',
    Password: stkPassword(mpesa.shortcode, mpesa.passkey, timestamp),
    Timestamp: timestamp,
    CheckoutRequestID: checkoutRequestId,
  };
}

const b2cBody = (phone: string, originatorConversationId: string, amount = 100) => ({
  OriginatorConversationID: originatorConversationId,
  InitiatorName: 'testapi',
  SecurityCredential: credential,
  CommandID: 'BusinessPayment',
  Amount: amount,
  PartyA: 600992,
  PartyB: Number(phone),
  Remarks: 'Refund',
  Occassion: 'Refund',
  ...urls,
});

const balanceBody = () => ({
  Initiator: 'testapi',
  SecurityCredential: credential,
  CommandID: 'AccountBalance',
  PartyA: '600992',
  IdentifierType: '4',
  Remarks: 'ok',
  ...urls,
});

const reversalBody = (receipt: string, amount: number) => ({
  Initiator: 'testapi',
  SecurityCredential: credential,
  CommandID: 'TransactionReversal',
  TransactionID: receipt,
  Amount: amount,
  ReceiverParty: '174379',
  RecieverIdentifierType: '11',
  Remarks: 'Wrong paybill',
  ...urls,
});

const statusBody = (ids: Record<string, string>) => ({
  Initiator: 'testapi',
  SecurityCredential: credential,
  CommandID: 'TransactionStatusQuery',
  PartyA: '600992',
  IdentifierType: '4',
  Remarks: 'OK',
  ...urls,
  ...ids,
});

let originatorIds = 0;
const newOriginatorId = () => `LP-test-${++originatorIds}`;

/** A settled, paid STK push: what a reversal needs. */
async function paidStk(amount = 500): Promise<{ checkoutRequestId: string; receipt: string }> {
  const res = await call('/stkpush', stkPushBody('254708374149', amount));
  expect(res.status).toBe(200);
  const checkoutRequestId = res.json?.CheckoutRequestID as string;
  await sleep(settings.callbackDelayMs + 10);
  const receipt = (await simulator.findTransaction(checkoutRequestId))?.receipt as string;
  return { checkoutRequestId, receipt };
}

/** The Result POSTed (or scheduled) last to `ResultURL`. */
function lastResult(): DarajaResult['Result'] {
  const post = posted.filter((p) => p.url === urls.ResultURL).at(-1);
  expect(post).toBeDefined();
  return (post?.payload as DarajaResult).Result;
}

const parameters = (result: DarajaResult['Result']) =>
  Object.fromEntries((result.ResultParameters?.ResultParameter ?? []).map((p) => [p.Key, p.Value]));

const INTERNAL_ERROR = { requestId: expect.any(String), errorCode: '500.003.1001', errorMessage: 'Internal Server Error' };

// ---- Faults ----

describe('fault internal_error_after_processing', () => {
  it('stkpush: stores the push, schedules its success callback, then answers 500 with the error envelope', async () => {
    await queueFault('stkpush', 'internal_error_after_processing');

    const res = await call('/stkpush', stkPushBody('254708374149'));

    expect(res).toMatchObject({ status: 500, json: INTERNAL_ERROR });
    expect(Object.keys(res.json ?? {}).sort()).toEqual(['errorCode', 'errorMessage', 'requestId']);
    const [push] = await simulator.transactionsForPhone('254708374149');
    expect(push).toMatchObject({ outcome: 'success', callbackUrl: stkCallbackUrl });
    expect(posted).toEqual([
      { label: expect.any(String), url: stkCallbackUrl, payload: expect.anything(), delayMs: settings.callbackDelayMs },
    ]);
    const callback = (posted[0].payload as StkCallbackPayload).Body.stkCallback;
    expect(callback).toMatchObject({ CheckoutRequestID: push.checkoutRequestId, ResultCode: 0 });
  });

  it('b2c: pays and stores the payout and schedules its result, then answers 500', async () => {
    await queueFault('b2c', 'internal_error_after_processing');
    const id = newOriginatorId();

    const res = await call('/b2c/v3', b2cBody('254708374149', id));

    expect(res).toMatchObject({ status: 500, json: INTERNAL_ERROR });
    expect(await moneyOut.findPayment(id)).toMatchObject({ paid: true, delivery: 'result', receipt: expect.any(String) });
    expect(lastResult()).toMatchObject({ ResultCode: 0, OriginatorConversationID: id });
    // The id is spent: a resend is refused as a duplicate, as Daraja guards a payout that happened.
    expect((await call('/b2c/v3', b2cBody('254708374149', id))).json).toMatchObject({
      errorCode: '500.002.1001',
      errorMessage: 'Duplicate OriginatorConversationID.',
    });
  });

  it('reversal: reverses the payment and schedules the result, then answers 500', async () => {
    const { receipt } = await paidStk(500);
    await queueFault('reversal', 'internal_error_after_processing');

    const res = await call('/reversal', reversalBody(receipt, 500));

    expect(res).toMatchObject({ status: 500, json: INTERNAL_ERROR });
    expect(await moneyOut.reversalOf(receipt)).toMatchObject({ originalReceipt: receipt, amount: 500 });
    expect(lastResult()).toMatchObject({ ResultCode: 0 });
    expect(parameters(lastResult())).toMatchObject({ OriginalTransactionID: receipt });
  });

  it('balance: schedules the balance result, then answers 500', async () => {
    await queueFault('balance', 'internal_error_after_processing');

    const res = await call('/balance', balanceBody());

    expect(res).toMatchObject({ status: 500, json: INTERNAL_ERROR });
    expect(lastResult()).toMatchObject({ ResultCode: '0' });
    expect(parameters(lastResult())).toHaveProperty('AccountBalance');
  });

  it('transactionstatus: schedules the status result, then answers 500', async () => {
    const id = newOriginatorId();
    await call('/b2c/v3', b2cBody('254708374149', id));
    await queueFault('transactionstatus', 'internal_error_after_processing');

    const res = await call('/transactionstatus', statusBody({ OriginatorConversationID: id }));

    expect(res).toMatchObject({ status: 500, json: INTERNAL_ERROR });
    expect(lastResult()).toMatchObject({ ResultCode: 0 });
    expect(parameters(lastResult())).toMatchObject({ TransactionStatus: 'Completed', OriginatorConversationID: id });
  });
});

describe('faults html_error and html_after_processing', () => {
  it('html_error answers an HTML 502 page without processing', async () => {
    await queueFault('stkpush', 'html_error');

    const res = await call('/stkpush', stkPushBody('254708374149'));

    expect(res).toMatchObject({ status: 502, text: BAD_GATEWAY_HTML, json: undefined });
    expect(res.contentType).toMatch(/^text\/html/);
    expect(res.text).toContain('<title>502 Bad Gateway</title>');
    expect(await simulator.transactionsForPhone('254708374149')).toEqual([]);
    expect(posted).toEqual([]);
  });

  it('html_after_processing pays the B2C and schedules its result, then answers the HTML 502 page', async () => {
    await queueFault('b2c', 'html_after_processing');
    const id = newOriginatorId();

    const res = await call('/b2c/v3', b2cBody('254708374149', id));

    expect(res).toMatchObject({ status: 502, text: BAD_GATEWAY_HTML });
    expect(res.contentType).toMatch(/^text\/html/);
    expect(await moneyOut.findPayment(id)).toMatchObject({ paid: true });
    expect(lastResult()).toMatchObject({ ResultCode: 0, OriginatorConversationID: id });
  });
});

describe('fault subscriber_locked', () => {
  it('answers the push 500.001.1001 "Unable to lock subscriber" without processing it', async () => {
    await queueFault('stkpush', 'subscriber_locked');

    const res = await call('/stkpush', stkPushBody('254708374149'));

    expect(res).toMatchObject({
      status: 500,
      json: {
        requestId: expect.any(String),
        errorCode: '500.001.1001',
        errorMessage: 'Unable to lock subscriber, a transaction is already in process for the current subscriber',
      },
    });
    expect(await simulator.transactionsForPhone('254708374149')).toEqual([]);
    // No lock was taken either: the next push goes through.
    expect((await call('/stkpush', stkPushBody('254708374149'))).status).toBe(200);
  });

  it('is refused for any endpoint but stkpush', async () => {
    expect(await queueFault('b2c', 'subscriber_locked')).toEqual({
      status: 400,
      json: { statusCode: 400, message: 'subscriber_locked applies to stkpush only, not b2c' },
    });
  });
});

describe('faults other_checkout and invalid_checkout (stkquery)', () => {
  it('other_checkout answers a settled success that names another CheckoutRequestID', async () => {
    const push = (await call('/stkpush', stkPushBody('254700001032'))).json as Record<string, string>;
    await queueFault('stkquery', 'other_checkout');

    const res = await call('/stkquery', stkQueryBody(push.CheckoutRequestID));

    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      ResponseCode: '0',
      ResponseDescription: 'The service request has been accepted successfully',
      MerchantRequestID: expect.stringMatching(/^\d{5}-\d+-1$/),
      CheckoutRequestID: expect.stringMatching(/^ws_CO_\d{25}$/),
      ResultCode: '0',
      ResultDesc: 'The service request is processed successfully.',
    });
    expect(res.json?.CheckoutRequestID).not.toBe(push.CheckoutRequestID);
    expect(res.json?.MerchantRequestID).not.toBe(push.MerchantRequestID);
    // The push asked about is untouched: still pending, or (it settles 20 ms after the push here) its own cancellation.
    const own = (await call('/stkquery', stkQueryBody(push.CheckoutRequestID))).json as Record<string, string>;
    if (own.errorMessage) expect(own).toMatchObject({ errorMessage: 'The transaction is being processed' });
    else expect(own).toMatchObject({ CheckoutRequestID: push.CheckoutRequestID, ResultCode: '1032' });
  });

  it('invalid_checkout answers 400.002.02 "Bad Request - Invalid CheckoutRequestID" for a push that exists', async () => {
    const push = (await call('/stkpush', stkPushBody('254708374149'))).json as Record<string, string>;
    await queueFault('stkquery', 'invalid_checkout');

    const res = await call('/stkquery', stkQueryBody(push.CheckoutRequestID));

    expect(res).toEqual(
      expect.objectContaining({
        status: 400,
        json: { requestId: expect.any(String), errorCode: '400.002.02', errorMessage: 'Bad Request - Invalid CheckoutRequestID' },
      }),
    );
  });
});

describe('fault no_result', () => {
  it('b2c: acknowledges and pays as usual but never calls ResultURL nor QueueTimeOutURL', async () => {
    await queueFault('b2c', 'no_result');
    const id = newOriginatorId();

    const res = await call('/b2c/v3', b2cBody('254708374149', id));

    expect(res).toMatchObject({
      status: 200,
      json: { OriginatorConversationID: id, ResponseCode: '0', ResponseDescription: 'Accept the service request successfully.' },
    });
    expect(await moneyOut.findPayment(id)).toMatchObject({ paid: true, delivery: 'none', outcome: 'success' });
    expect(posted).toEqual([]);
  });

  it('b2c: silences the queue timeout of a queue-timeout scenario too', async () => {
    await queueFault('b2c', 'no_result');
    const id = newOriginatorId();

    await call('/b2c/v3', b2cBody('254700000011', id));

    expect(await moneyOut.findPayment(id)).toMatchObject({ paid: true, outcome: 'queue_timeout_paid', delivery: 'none' });
    expect(posted).toEqual([]);
  });

  it('reversal: reverses the payment without a result, and Transaction Status finds it by its OriginatorConversationID', async () => {
    const { receipt } = await paidStk(500);
    await queueFault('reversal', 'no_result');

    const res = await call('/reversal', reversalBody(receipt, 500));

    expect(res.status).toBe(200);
    expect(posted.filter((p) => p.url === urls.ResultURL)).toEqual([]);
    const reversal = await moneyOut.reversalOf(receipt);
    expect(reversal).toMatchObject({ originatorConversationId: res.json?.OriginatorConversationID });

    await call('/transactionstatus', statusBody({ OriginatorConversationID: res.json?.OriginatorConversationID as string }));
    expect(parameters(lastResult())).toMatchObject({
      TransactionStatus: 'Completed',
      ReceiptNo: reversal?.reversalReceipt,
      ReasonType: 'Reversal',
    });
  });

  it('balance and transactionstatus: acknowledge without any result', async () => {
    await queueFault('balance', 'no_result');
    await queueFault('transactionstatus', 'no_result');

    const balance = await call('/balance', balanceBody());
    const status = await call('/transactionstatus', statusBody({ TransactionID: 'NEF61H8J60' }));

    expect(balance).toMatchObject({
      status: 200,
      json: { ResponseCode: '0', ResponseDescription: 'Accept the service request successfully' },
    });
    expect(status).toMatchObject({ status: 200, json: { ResponseCode: '0' } });
    expect(posted).toEqual([]);
  });

  it('is refused for stkpush', async () => {
    expect((await queueFault('stkpush', 'no_result')).status).toBe(400);
  });
});

describe('fault duplicate_originator (b2c)', () => {
  it('refuses a new OriginatorConversationID as a duplicate without claiming it, so a resend is accepted', async () => {
    await queueFault('b2c', 'duplicate_originator');
    const id = newOriginatorId();

    const refused = await call('/b2c/v3', b2cBody('254708374149', id));

    expect(refused).toMatchObject({
      status: 500,
      json: { requestId: expect.any(String), errorCode: '500.002.1001', errorMessage: 'Duplicate OriginatorConversationID.' },
    });
    expect(await moneyOut.findPayment(id)).toBeUndefined();
    expect(posted).toEqual([]);
    expect(await call('/b2c/v3', b2cBody('254708374149', id))).toMatchObject({ status: 200, json: { OriginatorConversationID: id } });
  });
});

describe('fault count', () => {
  it('applies a fault queued with count n to the next n requests, then answers normally; the call log names each', async () => {
    expect(await queueFault('stkpush', 'internal_error_after_processing', 2)).toMatchObject({
      status: 200,
      json: { queued: 2, pending: 2 },
    });

    const statuses = [];
    for (const phone of ['254712000001', '254712000002', '254712000003'])
      statuses.push((await call('/stkpush', stkPushBody(phone))).status);

    expect(statuses).toEqual([500, 500, 200]);
    expect((await simulator.calls()).map((c) => c.fault)).toEqual([
      'internal_error_after_processing',
      'internal_error_after_processing',
      null,
    ]);
    expect((await simulator.stats()).calls.stkpush).toBe(3);
  });
});

// ---- Scenarios chosen by the request ----

describe('STK 254700000006: processed but answered 500, then subscriber locked', () => {
  const phone = '254700000006';

  it('answers 500 although the push is stored and its success callback is due after lateCallbackMs', async () => {
    const res = await call('/stkpush', stkPushBody(phone));

    expect(res).toMatchObject({ status: 500, json: INTERNAL_ERROR });
    const [push] = await simulator.transactionsForPhone(phone);
    expect(push).toMatchObject({ outcome: 'processed_internal_error', callbackUrl: stkCallbackUrl });
    expect(posted).toEqual([expect.objectContaining({ url: stkCallbackUrl, delayMs: settings.lateCallbackMs })]);
    expect((posted[0].payload as StkCallbackPayload).Body.stkCallback).toMatchObject({
      CheckoutRequestID: push.checkoutRequestId,
      ResultCode: 0,
    });
  });

  it('locks the subscriber: later pushes answer 500.001.1001 until the first settles, then the cycle starts again', async () => {
    await call('/stkpush', stkPushBody(phone));

    for (let i = 0; i < 2; i++) {
      expect((await call('/stkpush', stkPushBody(phone))).json).toMatchObject({
        errorCode: '500.001.1001',
        errorMessage: 'Unable to lock subscriber, a transaction is already in process for the current subscriber',
      });
    }
    const [first] = await simulator.transactionsForPhone(phone);
    expect((await call('/stkquery', stkQueryBody(first.checkoutRequestId))).json).toMatchObject({
      errorMessage: 'The transaction is being processed',
    });

    await sleep(settings.lateCallbackMs + 20);
    expect((await call('/stkquery', stkQueryBody(first.checkoutRequestId))).json).toMatchObject({ ResultCode: '0' });
    expect((await call('/stkpush', stkPushBody(phone))).status).toBe(500);
    expect(await simulator.transactionsForPhone(phone)).toHaveLength(2);
  });
});

describe('B2C 254700000007: no result; Transaction Status says 2033 twice, then Completed', () => {
  it('hides the paid payout from the first two queries that find it, then shows it with its receipt', async () => {
    const id = newOriginatorId();
    const res = await call('/b2c/v3', b2cBody('254700000007', id));
    expect(res).toMatchObject({ status: 200, json: { OriginatorConversationID: id, ResponseCode: '0' } });
    expect(posted).toEqual([]);
    const payout = await moneyOut.findPayment(id);
    expect(payout).toMatchObject({ paid: true, delivery: 'none', outcome: 'not_found_then_paid', receipt: expect.any(String) });

    const results = [];
    for (let i = 0; i < 4; i++) {
      // The conversation id under both keys, as the app sends it: one query, counted once.
      await call('/transactionstatus', statusBody({ OriginatorConversationID: id, OriginalConversationID: id }));
      results.push(lastResult());
    }

    const notFound = {
      ResultCode: 2033,
      ResultDesc: 'The transaction receipt number cannot be found by the specified OriginatorConversationID or ConversationID.',
    };
    expect(results[0]).toMatchObject(notFound);
    expect(results[1]).toMatchObject(notFound);
    expect(results[0]).not.toHaveProperty('ResultParameters');
    for (const found of results.slice(2)) {
      expect(found).toMatchObject({ ResultCode: 0 });
      expect(parameters(found)).toMatchObject({ TransactionStatus: 'Completed', ReceiptNo: payout?.receipt, Amount: '100' });
    }
  });
});

describe('B2C 254700000008: the result names another receiver', () => {
  it('pays and reports ReceiverPartyPublicName (and Transaction Status CreditPartyName) for 254705912645', async () => {
    const id = newOriginatorId();

    await call('/b2c/v3', b2cBody('254700000008', id));

    expect(lastResult()).toMatchObject({ ResultCode: 0, OriginatorConversationID: id });
    expect(parameters(lastResult())).toMatchObject({ ReceiverPartyPublicName: '254705912645 - JOHN DOE', TransactionAmount: 100 });
    expect(await moneyOut.findPayment(id)).toMatchObject({ phone: '254700000008', receiverPhone: '254705912645', paid: true });

    await call('/transactionstatus', statusBody({ OriginatorConversationID: id }));
    expect(parameters(lastResult())).toMatchObject({ CreditPartyName: '254705912645 - JOHN DOE' });
  });
});

describe(`Reversal of KES ${REVERSAL_REFUSED_AMOUNT}: accepted, then refused in the result with R000002`, () => {
  it('acknowledges with ResponseCode 0 and schedules a failure result; nothing is reversed', async () => {
    const { receipt } = await paidStk(REVERSAL_REFUSED_AMOUNT);
    const before = await moneyOut.balances();

    const res = await call('/reversal', reversalBody(receipt, REVERSAL_REFUSED_AMOUNT));

    expect(res).toMatchObject({
      status: 200,
      json: { ResponseCode: '0', ResponseDescription: 'Accept the service request successfully.' },
    });
    expect(lastResult()).toEqual({
      ResultType: 0,
      ResultCode: 'R000002',
      ResultDesc: 'The OriginalTransactionID is invalid.',
      OriginatorConversationID: res.json?.OriginatorConversationID,
      ConversationID: res.json?.ConversationID,
      TransactionID: `${receipt.slice(0, 3)}0000000`,
      ReferenceData: { ReferenceItem: { Key: 'QueueTimeoutURL', Value: expect.stringContaining('reversalresults') } },
    });
    expect(await moneyOut.reversalOf(receipt)).toBeUndefined();
    expect(await moneyOut.balances()).toEqual(before);
  });

  it('leaves other amounts reversing as before', async () => {
    const { receipt } = await paidStk(REVERSAL_REFUSED_AMOUNT + 1);

    await call('/reversal', reversalBody(receipt, REVERSAL_REFUSED_AMOUNT + 1));

    expect(lastResult()).toMatchObject({ ResultCode: 0 });
  });
});
