// The simulator's C2B (Register URL, Simulate with validation and confirmation), Pull Transactions and statement,
// through its own controllers and services on the real Redis, and the app's DarajaClient against them over real HTTP.
// A small Fastify plays the app: it receives the validation and confirmation POSTs and answers validation as a test
// tells it to. Every test gets an empty keyspace under the run's key prefix (test/support/integration.ts).
import { Logger } from '@nestjs/common';
import type { ConfigType } from '@nestjs/config';
import Fastify, { FastifyInstance } from 'fastify';
import { constants, publicEncrypt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { buildConfig } from '../../src/config/configuration';
import type { mpesaConfig, simulatorConfig } from '../../src/config/configuration';
import { SimulatorRecorder } from '../../src/mpesa/simulator/simulator-recorder';
import { SimulatorKeys } from '../../src/mpesa/simulator/simulator-redis';
import { validateEnv } from '../../src/config/env.validation';
import { DarajaAuthService } from '../../src/mpesa/daraja-auth.service';
import { DarajaCallBudgetService } from '../../src/mpesa/daraja-call-budget.service';
import { DarajaError, DarajaOutcome } from '../../src/mpesa/daraja-errors';
import { darajaTimestamp, pullDateTime, stkPassword } from '../../src/mpesa/daraja-time';
import { DarajaHttp } from '../../src/mpesa/daraja-http';
import { DarajaClient } from '../../src/mpesa/daraja.client';
import { SecurityCredentialService } from '../../src/mpesa/security-credential';
import { SimulatorC2bController } from '../../src/mpesa/simulator/simulator-c2b.controller';
import { SimulatorC2bService } from '../../src/mpesa/simulator/simulator-c2b.service';
import type { C2bCallbackBody, SimulatedC2bPayment } from '../../src/mpesa/simulator/simulator-c2b-wire';
import { SimulatorControlController } from '../../src/mpesa/simulator/simulator-control.controller';
import type { FaultKind, SimulatedEndpoint } from '../../src/mpesa/simulator/simulator-faults';
import { hashMsisdn, LedgerEntry } from '../../src/mpesa/simulator/simulator-ledger';
import { SimulatorLedgerControlController } from '../../src/mpesa/simulator/simulator-ledger-control.controller';
import { SimulatorMoneyOutController } from '../../src/mpesa/simulator/simulator-money-out.controller';
import { SimulatorMoneyOutService } from '../../src/mpesa/simulator/simulator-money-out.service';
import { SimulatorPullService } from '../../src/mpesa/simulator/simulator-pull.service';
import { STATEMENT_HEADER } from '../../src/mpesa/simulator/simulator-statement';
import { DarajaSimulatorController } from '../../src/mpesa/simulator/simulator.controller';
import { DarajaSimulatorService } from '../../src/mpesa/simulator/simulator.service';
import { darajaFixture } from '../fixtures/daraja';
import { IntegrationRedis, openIntegrationRedis } from '../support/integration';

// ---- The simulator, wired as DarajaSimulatorModule wires it, behind a bare Fastify on a real port ----

const PASSWORD = 'Safaricom999!*!';
const SHORTCODE = '174379';
const PAYBILL = '600984';
const mpesa = {
  shortcode: SHORTCODE,
  partyB: SHORTCODE,
  passkey: 'bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919',
  consumerKey: 'simulator-consumer-key',
  consumerSecret: 'simulator-consumer-secret',
  initiatorName: 'testapi',
  initiatorPassword: PASSWORD,
  b2cShortcode: '600992',
} as unknown as ConfigType<typeof mpesaConfig>;
/** Short clocks: a payment completes 20 ms after simulate, a late confirmation comes 200 ms after it. */
const settings = { enabled: true, callbackDelayMs: 20, lateCallbackMs: 200, noAnswerMs: 200, tokenTtlSeconds: 3599 } as ConfigType<
  typeof simulatorConfig
>;
const HOUR = 60 * 60 * 1000;

let store: IntegrationRedis;
let simulator: DarajaSimulatorService;
let recorder: SimulatorRecorder;
let moneyOut: SimulatorMoneyOutService;
let c2b: SimulatorC2bService;
let pull: SimulatorPullService;
let daraja: FastifyInstance;
let darajaUrl: string;
let bearer: string;

// ---- The app's side: the URLs the simulator calls ----

interface Received {
  /** The test whose URLs were called (a late POST of the previous test must not count in this one). */
  test: number;
  path: string;
  body: C2bCallbackBody;
  at: number;
}
let app: FastifyInstance;
let appUrl: string;
let received: Received[];
let testNumber = 0;
/** What the validation URL answers next. */
let validationReply: { status: number; body: unknown };

const urls = () => ({
  ConfirmationURL: `${appUrl}/api/payments/daraja/c2b/confirmation?token=t${testNumber}`,
  ValidationURL: `${appUrl}/api/payments/daraja/c2b/validation?token=t${testNumber}`,
});
const testOf = (query: unknown) => Number(String((query as { token?: string }).token ?? '').slice(1));

beforeAll(async () => {
  Logger.overrideLogger(false);
  store = await openIntegrationRedis();
  app = Fastify();
  app.post('/api/payments/daraja/c2b/validation', async (req, reply) => {
    received.push({ test: testOf(req.query), path: 'validation', body: req.body as C2bCallbackBody, at: Date.now() });
    return reply.status(validationReply.status).send(validationReply.body);
  });
  app.post('/api/payments/daraja/c2b/confirmation', async (req) => {
    received.push({ test: testOf(req.query), path: 'confirmation', body: req.body as C2bCallbackBody, at: Date.now() });
    return { ResultCode: 0, ResultDesc: 'Success' };
  });
  app.post('/stk-callback', async () => ({ ResultCode: 0, ResultDesc: 'Accepted' }));
  await app.listen({ host: '127.0.0.1', port: 0 });
  appUrl = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await app?.close();
  await store?.close();
});

beforeEach(async () => {
  received = [];
  testNumber++;
  validationReply = { status: 200, body: { ResultCode: '0', ResultDesc: 'Accepted' } };
  const keys = new SimulatorKeys({ redis: { keyPrefix: store.newKeyPrefix() } } as ConfigType<typeof simulatorConfig>);
  recorder = new SimulatorRecorder(store.redis, keys, settings);
  simulator = new DarajaSimulatorService(mpesa, settings, store.redis, keys, recorder);
  moneyOut = new SimulatorMoneyOutService(mpesa, settings, store.redis, keys, simulator);
  c2b = new SimulatorC2bService(mpesa, settings, store.redis, keys, simulator);
  pull = new SimulatorPullService(store.redis, keys, simulator, c2b);

  const stk = new DarajaSimulatorController(simulator);
  const out = new SimulatorMoneyOutController(simulator, moneyOut);
  const routes = new SimulatorC2bController(simulator, c2b, pull);
  const control = new SimulatorControlController(simulator, moneyOut, recorder);
  const ledger = new SimulatorLedgerControlController(mpesa, simulator, c2b, pull);
  type Req = { headers: { authorization?: string }; body: unknown; query: unknown; params: unknown };
  const id = (req: Req) => (req.params as { id: string }).id;
  daraja = Fastify();
  daraja.post('/mpesa/stkpush/v1/processrequest', (req: Req, reply) => stk.stkPush(req.headers.authorization, req.body, reply));
  daraja.post('/mpesa/b2c/v3/paymentrequest', (req: Req, reply) => out.b2cV3(req.headers.authorization, req.body, reply));
  daraja.post('/mpesa/reversal/v1/request', (req: Req, reply) => out.reversal(req.headers.authorization, req.body, reply));
  daraja.post('/mpesa/c2b/v2/registerurl', (req: Req, reply) => routes.registerUrlV2(req.headers.authorization, req.body, reply));
  daraja.post('/mpesa/c2b/v1/registerurl', (req: Req, reply) => routes.registerUrlV1(req.headers.authorization, req.body, reply));
  daraja.post('/mpesa/c2b/v2/simulate', (req: Req, reply) => routes.simulateV2(req.headers.authorization, req.body, reply));
  daraja.post('/mpesa/c2b/v1/simulate', (req: Req, reply) => routes.simulateV1(req.headers.authorization, req.body, reply));
  daraja.post('/pulltransactions/v1/register', (req: Req, reply) => routes.pullRegister(req.headers.authorization, req.body, reply));
  daraja.post('/pulltransactions/v1/query', (req: Req, reply) => routes.pullQuery(req.headers.authorization, req.body, reply));
  daraja.post('/control/faults', (req: Req, reply) => control.queueFaults(req.body as never, reply));
  daraja.get('/control/statement.csv', (req: Req, reply) => ledger.statement(req.query as never, reply));
  daraja.get('/control/ledger', (req: Req, reply) => ledger.ledger(req.query as never, reply));
  daraja.post('/control/ledger', (req: Req, reply) => ledger.addRow(req.body as never, reply));
  daraja.patch('/control/ledger/:id', (req: Req, reply) => ledger.patchRow(id(req), req.body as never, reply));
  daraja.delete('/control/ledger/:id', (req: Req, reply) => ledger.deleteRow(id(req), reply));
  await daraja.listen({ host: '127.0.0.1', port: 0 });
  darajaUrl = `http://127.0.0.1:${(daraja.server.address() as AddressInfo).port}`;

  const token = await simulator.issueToken(
    'client_credentials',
    `Basic ${Buffer.from(`${mpesa.consumerKey}:${mpesa.consumerSecret}`).toString('base64')}`,
  );
  bearer = `Bearer ${(token.body as { access_token: string }).access_token}`;
});

afterEach(async () => {
  simulator.onApplicationShutdown(); // pending timers of this test die with it
  await daraja.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls until `check` returns something truthy (5 s at most). */
async function until<T>(check: () => Promise<T | undefined | false> | T | undefined | false, what: string): Promise<T> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

async function call(method: 'POST' | 'GET' | 'PATCH' | 'DELETE', path: string, body?: unknown) {
  const res = await daraja.inject({ method, url: path, headers: { authorization: bearer }, payload: body as object });
  const json = String(res.headers['content-type']).startsWith('application/json') ? (res.json() as Record<string, any>) : undefined;
  return { status: res.statusCode, headers: res.headers, text: res.body, json };
}

const post = (path: string, body: unknown) => call('POST', path, body);

async function queueFault(endpoint: SimulatedEndpoint, kind: FaultKind) {
  return post('/control/faults', { endpoint, kind });
}

const registerBody = (overrides: Record<string, unknown> = {}) => ({
  ShortCode: PAYBILL,
  ResponseType: 'Completed',
  ...urls(),
  ...overrides,
});

const simulateBody = (phone: string, amount = 150, billRef: string | null = 'LP7KQ2', overrides: Record<string, unknown> = {}) => ({
  ShortCode: Number(PAYBILL),
  CommandID: 'CustomerPayBillOnline',
  Amount: amount,
  Msisdn: Number(phone),
  BillRefNumber: billRef,
  ...overrides,
});

/** Simulates a payment and waits for it to settle (completed or cancelled). */
async function pay(phone: string, amount = 150, billRef: string | null = 'LP7KQ2', overrides: Record<string, unknown> = {}) {
  const res = await post('/mpesa/c2b/v2/simulate', simulateBody(phone, amount, billRef, overrides));
  expect(res.status).toBe(200);
  const id = res.json?.OriginatorCoversationID as string;
  return until(async () => {
    const payment = await c2b.findPayment(id);
    return payment && payment.status !== 'pending' ? payment : undefined;
  }, `C2B payment ${id}`);
}

const mine = () => received.filter((r) => r.test === testNumber);
const confirmations = () => mine().filter((r) => r.path === 'confirmation');
const validations = () => mine().filter((r) => r.path === 'validation');

function stkPushBody(phone: string, amount = 100): Record<string, unknown> {
  const timestamp = darajaTimestamp(new Date());
  return {
    BusinessShortCode: SHORTCODE,
    Password: stkPassword(mpesa.shortcode, mpesa.passkey, timestamp),
    Timestamp: timestamp,
    TransactionType: 'CustomerPayBillOnline',
    Amount: amount,
    PartyA: phone,
    PartyB: SHORTCODE,
    PhoneNumber: phone,
    CallBackURL: `${appUrl}/stk-callback`,
    AccountReference: 'LP9MX4',
    TransactionDesc: 'Legal fee',
  };
}

/** A settled, paid STK push; its receipt. */
async function paidStk(phone = '254708374149', amount = 100): Promise<string> {
  const res = await post('/mpesa/stkpush/v1/processrequest', stkPushBody(phone, amount));
  expect(res.status).toBe(200);
  await sleep(settings.callbackDelayMs + 10);
  return (await simulator.findTransaction(res.json?.CheckoutRequestID as string))?.receipt as string;
}

const kenya = (at: number) => pullDateTime(new Date(at));
const pullQueryBody = (start: number, end: number, offset: number | string = 0, shortCode = PAYBILL) => ({
  ShortCode: shortCode,
  StartDate: kenya(start),
  EndDate: kenya(end),
  OffSetValue: offset,
});
const registerPull = (shortCode = PAYBILL) =>
  post('/pulltransactions/v1/register', {
    ShortCode: shortCode,
    RequestType: 'Pull',
    NominatedNumber: '254722000000',
    CallBackURL: 'https://lp.example/pull',
  });

/** Adds a ledger row M-Pesa has and the app never heard of. */
async function addRow(row: Record<string, unknown>): Promise<LedgerEntry> {
  const res = await post('/control/ledger', row);
  expect(res.status).toBe(200);
  return res.json as LedgerEntry;
}

// ---- C2B Register URL ----

describe('C2B Register URL', () => {
  it('v2 answers with the misspelled OriginatorCoversationID and stores the URLs for the shortcode', async () => {
    const res = await post('/mpesa/c2b/v2/registerurl', registerBody());

    expect(res.status).toBe(200);
    expect(Object.keys(res.json ?? {})).toEqual(Object.keys(darajaFixture('c2b-register-response')));
    expect(res.json).toEqual({ OriginatorCoversationID: expect.any(String), ResponseCode: '0', ResponseDescription: 'Success' });
    expect(await c2b.registrations()).toEqual([
      {
        shortCode: PAYBILL,
        responseType: 'Completed',
        confirmationUrl: urls().ConfirmationURL,
        validationUrl: urls().ValidationURL,
        version: 'v2',
        registeredAt: expect.any(String),
      },
    ]);
    expect((await post('/mpesa/c2b/v1/registerurl', registerBody())).json).toMatchObject({ ResponseDescription: 'success' });
  });

  it('sandbox mode lets a shortcode register again; production mode answers 500.003.1001 "Urls are already registered."', async () => {
    await post('/mpesa/c2b/v2/registerurl', registerBody());
    expect((await post('/mpesa/c2b/v2/registerurl', registerBody({ ResponseType: 'Cancelled' }))).status).toBe(200);
    expect((await c2b.registration(PAYBILL))?.responseType).toBe('Cancelled');

    await c2b.setSwitches({ registration: 'production' });
    const again = await post('/mpesa/c2b/v2/registerurl', registerBody());
    expect(again).toMatchObject({
      status: 500,
      json: { requestId: expect.any(String), errorCode: '500.003.1001', errorMessage: 'Urls are already registered.' },
    });
    expect((await c2b.registration(PAYBILL))?.responseType).toBe('Cancelled');
    // Another shortcode registers once; after URL Management deletes the first, it registers again.
    expect((await post('/mpesa/c2b/v2/registerurl', registerBody({ ShortCode: '600985' }))).status).toBe(200);
    expect(await c2b.deleteRegistration(PAYBILL)).toBe(true);
    expect((await post('/mpesa/c2b/v2/registerurl', registerBody())).status).toBe(200);
  });

  it('the already_registered fault answers that once, storing nothing', async () => {
    await queueFault('c2bregister', 'already_registered');

    expect((await post('/mpesa/c2b/v2/registerurl', registerBody())).json).toMatchObject({ errorMessage: 'Urls are already registered.' });
    expect(await c2b.registrations()).toEqual([]);
    expect((await post('/mpesa/c2b/v2/registerurl', registerBody())).status).toBe(200);
  });

  it('refuses a URL with a forbidden word and a bad token', async () => {
    const res = await post('/mpesa/c2b/v2/registerurl', registerBody({ ConfirmationURL: `${appUrl}/api/payments/mpesa/c2b/confirmation` }));
    expect(res).toMatchObject({ status: 400, json: { errorCode: '400.002.02', errorMessage: 'Bad Request - Invalid ConfirmationURL' } });
    const unauthorised = await daraja.inject({ method: 'POST', url: '/mpesa/c2b/v2/registerurl', payload: registerBody() });
    expect(unauthorised.json()).toMatchObject({ errorMessage: 'Invalid Access Token' });
  });
});

// ---- C2B Simulate ----

describe('C2B Simulate', () => {
  beforeEach(async () => {
    await post('/mpesa/c2b/v2/registerurl', registerBody());
  });

  it('acknowledges, asks validation, then confirms with the same TransID and puts the payment in the ledger', async () => {
    const res = await post('/mpesa/c2b/v2/simulate', simulateBody('254708374149'));
    expect(res).toMatchObject({
      status: 200,
      json: {
        OriginatorCoversationID: expect.any(String),
        ResponseCode: '0',
        ResponseDescription: 'Accept the service request successfully.',
      },
    });

    await until(() => confirmations().length === 1, 'the confirmation');
    const [validation] = validations();
    const [confirmation] = confirmations();
    expect(validation.at).toBeLessThanOrEqual(confirmation.at);
    expect(validation.body).toMatchObject({ TransID: confirmation.body.TransID, OrgAccountBalance: '', ThirdPartyTransID: '' });
    expect(confirmation.body).toEqual({
      TransactionType: 'Pay Bill',
      TransID: expect.stringMatching(/^[A-Z][A-Z0-9]{9}$/),
      TransTime: expect.stringMatching(/^\d{14}$/),
      TransAmount: '150.00',
      BusinessShortCode: PAYBILL,
      BillRefNumber: 'LP7KQ2',
      InvoiceNumber: '',
      OrgAccountBalance: '150.00',
      ThirdPartyTransID: '',
      MSISDN: '2547 ***** 149',
      FirstName: 'JOHN',
      MiddleName: '',
      LastName: '',
    });
    const payment = await c2b.findPayment(res.json?.OriginatorCoversationID as string);
    expect(payment).toMatchObject({ status: 'completed', validation: 'accepted', confirmations: 1, receipt: confirmation.body.TransID });
    expect(await simulator.ledger.get(confirmation.body.TransID)).toMatchObject({
      kind: 'c2b',
      amount: 150,
      shortCode: PAYBILL,
      msisdn: '254708374149',
      accountReference: 'LP7KQ2',
    });
  });

  it('a validation answer other than "0" cancels: no confirmation, no money', async () => {
    validationReply = { status: 200, body: { ResultCode: 'C2B00012', ResultDesc: 'Rejected' } };

    const payment = await pay('254708374149');

    expect(payment).toMatchObject({ status: 'cancelled', validation: 'rejected', validationResultCode: 'C2B00012', confirmations: 0 });
    await sleep(30);
    expect(confirmations()).toEqual([]);
    expect(await simulator.ledger.get(payment.receipt)).toBeUndefined();
  });

  it('echoes the ThirdPartyTransID validation returned', async () => {
    validationReply = { status: 200, body: { ResultCode: 0, ResultDesc: 'Accepted', ThirdPartyTransID: 'LP-42' } };
    await pay('254708374149');
    await until(() => confirmations().length === 1, 'the confirmation');
    expect(confirmations()[0].body.ThirdPartyTransID).toBe('LP-42');
  });

  it('validation that fails leaves it to the ResponseType: Completed completes, Cancelled cancels', async () => {
    validationReply = { status: 500, body: { error: 'down' } };
    expect(await pay('254708374149')).toMatchObject({ status: 'completed', validation: 'unreachable' });

    await post('/mpesa/c2b/v2/registerurl', registerBody({ ResponseType: 'Cancelled' }));
    const cancelled = await pay('254708374149');
    expect(cancelled).toMatchObject({ status: 'cancelled', validation: 'unreachable' });
    expect(await simulator.ledger.get(cancelled.receipt)).toBeUndefined();
  });

  it('validation switched off: only the confirmation comes', async () => {
    await c2b.setSwitches({ validation: false });
    expect(await pay('254708374149')).toMatchObject({ status: 'completed', validation: 'not_sent' });
    await until(() => confirmations().length === 1, 'the confirmation');
    expect(validations()).toEqual([]);
  });

  it('254700000020: completed, validation asked, confirmation never delivered', async () => {
    const payment = await pay('254700000020');
    expect(payment).toMatchObject({ status: 'completed', outcome: 'confirmation_lost', confirmations: 0 });
    await sleep(50);
    expect(validations()).toHaveLength(1);
    expect(confirmations()).toEqual([]);
    expect(await simulator.ledger.get(payment.receipt)).toMatchObject({ kind: 'c2b' });
  });

  it('254700000021: the same confirmation twice', async () => {
    await pay('254700000021');
    await until(() => confirmations().length === 2, 'two confirmations');
    expect(confirmations()[1].body).toEqual(confirmations()[0].body);
  });

  it('254700000022: the confirmation arrives after SIMULATOR_LATE_CALLBACK_MS', async () => {
    const started = Date.now();
    const payment = await pay('254700000022');
    expect(payment).toMatchObject({ status: 'completed', confirmations: 1 });
    expect(confirmations()).toEqual([]);
    const [late] = await until(() => confirmations().length === 1 && confirmations(), 'the late confirmation');
    expect(late.at - started).toBeGreaterThanOrEqual(settings.lateCallbackMs - 5);
  });

  it('a shortcode without URLs: the payment completes and nobody is told', async () => {
    const payment = await pay('254708374149', 150, 'LP7KQ2', { ShortCode: 600999 });
    expect(payment).toMatchObject({ status: 'completed', validation: 'not_sent', confirmations: 0 });
    expect(mine()).toEqual([]);
    expect(await simulator.ledger.get(payment.receipt)).toMatchObject({ shortCode: '600999' });
  });

  it('the no_result fault: completed without validation or confirmation', async () => {
    await queueFault('c2bsimulate', 'no_result');
    const payment = await pay('254708374149');
    expect(payment).toMatchObject({ status: 'completed', silent: true, confirmations: 0 });
    await sleep(30);
    expect(mine()).toEqual([]);
  });

  it('Buy Goods: TransactionType "Buy Goods", no account number; v1 acknowledges as the real capture', async () => {
    const res = await post(
      '/mpesa/c2b/v1/simulate',
      simulateBody('254708374149', 75, null, { CommandID: 'CustomerBuyGoodsOnline', Amount: '75' }),
    );
    expect(res.json).toEqual({
      ConversationID: expect.stringMatching(/^AG_\d{8}_[0-9a-f]{20}$/),
      OriginatorCoversationID: expect.stringMatching(/^\d+-\d+-1$/),
      ResponseDescription: 'Accept the service request successfully.',
    });
    await until(() => confirmations().length === 1, 'the confirmation');
    expect(confirmations()[0].body).toMatchObject({ TransactionType: 'Buy Goods', BillRefNumber: '', TransAmount: '75.00' });
  });

  it('shows the number hashed when asked to', async () => {
    await c2b.setSwitches({ msisdnFormat: 'hashed' });
    await pay('254708374149');
    await until(() => confirmations().length === 1, 'the confirmation');
    expect(confirmations()[0].body.MSISDN).toBe(hashMsisdn('254708374149'));
  });

  it('refuses a paybill payment without an account number', async () => {
    expect(await post('/mpesa/c2b/v2/simulate', simulateBody('254708374149', 150, null))).toMatchObject({
      status: 400,
      json: { errorMessage: 'Bad Request - Invalid BillRefNumber' },
    });
  });

  it('lists the payments of a phone', async () => {
    await pay('254700000021', 10);
    await pay('254700000021', 20);
    expect((await c2b.paymentsForPhone('254700000021')).map((p: SimulatedC2bPayment) => p.amount)).toEqual([10, 20]);
  });
});

describe('STK payments on the confirmation URL (stkConfirmations)', () => {
  beforeEach(async () => {
    await post('/mpesa/c2b/v2/registerurl', registerBody({ ShortCode: SHORTCODE }));
  });

  it('off by default: a completed push is in the ledger, but no confirmation comes', async () => {
    const receipt = await paidStk();
    await sleep(30);
    expect(confirmations()).toEqual([]);
    expect(await simulator.ledger.get(receipt)).toMatchObject({
      kind: 'stk',
      amount: 100,
      accountReference: 'LP9MX4',
      shortCode: SHORTCODE,
    });
  });

  it('on: the push is confirmed with the same receipt at its settlement, or earlier when asked', async () => {
    await c2b.setSwitches({ stkConfirmations: true, stkConfirmationDelayMs: -settings.callbackDelayMs });
    const receipt = await paidStk();
    await until(() => confirmations().length === 1, 'the confirmation');
    expect(confirmations()[0].body).toMatchObject({
      TransID: receipt,
      TransAmount: '100.00',
      BusinessShortCode: SHORTCODE,
      BillRefNumber: 'LP9MX4',
      MSISDN: '2547 ***** 149',
    });
    // Failed pushes are not confirmed.
    await post('/mpesa/stkpush/v1/processrequest', stkPushBody('254700001032'));
    await sleep(settings.callbackDelayMs + 20);
    expect(confirmations()).toHaveLength(1);
  });
});

// ---- Pull Transactions ----

describe('Pull Transactions', () => {
  it('registers with 1000 and answers 1001 "already Registered" (keys with spaces) after that', async () => {
    const first = await registerPull();
    expect(first).toMatchObject({
      status: 200,
      json: {
        ResponseRefID: expect.any(String),
        ResponseStatus: '1000',
        ShortCode: PAYBILL,
        ResponseDescription: 'Shortcode Registered Successfully',
      },
    });
    const second = await registerPull();
    expect(second.json).toEqual({
      ResponseRefID: expect.any(String),
      'Response Status': '1001',
      ShortCode: PAYBILL,
      'Response Description': 'ShortCode already Registered',
    });
  });

  it('answers 1001 inside HTTP 200 for an unregistered shortcode and for a quiet window', async () => {
    const now = Date.now();
    await addRow({ kind: 'c2b', amount: 100, shortCode: PAYBILL, completedAt: new Date(now - HOUR).toISOString() });
    const noRecords = { ResponseRefID: expect.any(String), ...darajaFixture('pull-query-no-records') };

    expect(await post('/pulltransactions/v1/query', pullQueryBody(now - 2 * HOUR, now))).toMatchObject({ status: 200, json: noRecords });
    await registerPull();
    expect((await post('/pulltransactions/v1/query', pullQueryBody(now - 3 * HOUR, now - 2 * HOUR))).json).toEqual(noRecords);
    expect((await post('/pulltransactions/v1/query', pullQueryBody(now - 2 * HOUR, now))).json).toMatchObject({ ResponseCode: '1000' });
  });

  it('lists the C2B and STK payments of the shortcode only: no payouts, reversals, charges or other shortcodes', async () => {
    await registerPull(SHORTCODE);
    const started = Date.now() - 1_000;
    const stkReceipt = await paidStk();
    const other = await addRow({ kind: 'c2b', amount: 300, shortCode: '600999' });
    const c2bRow = await addRow({ kind: 'c2b', amount: 250, shortCode: SHORTCODE, accountReference: 'LP7KQ2' });
    await addRow({ kind: 'charge', amount: 5, receipt: c2bRow.receipt, shortCode: SHORTCODE });
    await addRow({ kind: 'reversal', amount: 100, shortCode: SHORTCODE, originalReceipt: stkReceipt });
    await addRow({ kind: 'b2c', amount: 100, shortCode: SHORTCODE });

    const res = await post('/pulltransactions/v1/query', pullQueryBody(started, Date.now(), '0', SHORTCODE));

    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ ResponseCode: '1000', ResponseMessage: 'Success', TotalPages: 1, TotalRecords: 2 });
    expect(res.json?.Response).toEqual([
      [
        expect.objectContaining({
          transactionId: stkReceipt,
          amount: '100.00',
          billreference: 'LP9MX4',
          transactiontype: 'c2b-pay-bill-debit',
        }),
        expect.objectContaining({ transactionId: c2bRow.receipt, amount: '250.00', billreference: 'LP7KQ2', msisdn: '2547 ***** 149' }),
      ],
    ]);
    expect(JSON.stringify(res.json)).not.toContain(other.receipt);
  });

  it('does not list an STK payment before it settles', async () => {
    await registerPull(SHORTCODE);
    const res = await post('/mpesa/stkpush/v1/processrequest', stkPushBody('254700000003')); // settles after lateCallbackMs
    const { receipt } = (await simulator.findTransaction(res.json?.CheckoutRequestID as string)) ?? {};
    const query = () => post('/pulltransactions/v1/query', pullQueryBody(Date.now() - HOUR, Date.now() + HOUR, 0, SHORTCODE));

    expect((await query()).json).toMatchObject({ ResponseCode: '1001' });
    await sleep(settings.lateCallbackMs + 10);
    expect((await query()).json?.Response[0]).toEqual([expect.objectContaining({ transactionId: receipt })]);
  });

  it('pages by page index (default) or by row offset, with TotalPages and TotalRecords', async () => {
    await registerPull();
    const now = Date.now();
    const receipts: string[] = [];
    for (let i = 0; i < 5; i++) {
      receipts.push(
        (await addRow({ kind: 'c2b', amount: 10 + i, shortCode: PAYBILL, completedAt: new Date(now - (5 - i) * 60_000).toISOString() }))
          .receipt,
      );
    }
    await pull.setSettings({ pageSize: 2 });
    const page = async (offset: number) => {
      const res = await post('/pulltransactions/v1/query', pullQueryBody(now - HOUR, now, offset));
      return res.json as Record<string, any>;
    };
    const ids = (answer: Record<string, any>) => (answer.Response as { transactionId: string }[][]).flat().map((r) => r.transactionId);

    const pages = [await page(0), await page(1), await page(2)];
    expect(pages.map((p) => [p.TotalPages, p.TotalRecords])).toEqual([
      [3, 5],
      [3, 5],
      [3, 5],
    ]);
    expect(pages.flatMap(ids)).toEqual(receipts);
    expect(await page(3)).toMatchObject({ ResponseCode: '1001' });

    await pull.setSettings({ offsetReading: 'row' });
    expect(ids(await page(1))).toEqual(receipts.slice(1, 3));
    expect(ids(await page(4))).toEqual(receipts.slice(4));
  });

  it('keeps 48 hours: an older StartDate is clipped, not refused, and older rows never show', async () => {
    await registerPull();
    const now = Date.now();
    const old = await addRow({ kind: 'c2b', amount: 10, shortCode: PAYBILL, completedAt: new Date(now - 49 * HOUR).toISOString() });
    const recent = await addRow({ kind: 'c2b', amount: 20, shortCode: PAYBILL, completedAt: new Date(now - 47 * HOUR).toISOString() });

    const res = await post('/pulltransactions/v1/query', pullQueryBody(now - 72 * HOUR, now));

    expect(res.json).toMatchObject({ ResponseCode: '1000', TotalRecords: 1 });
    expect(res.json?.Response[0]).toEqual([expect.objectContaining({ transactionId: recent.receipt })]);
    expect((await post('/pulltransactions/v1/query', pullQueryBody(now - 72 * HOUR, now - 48.5 * HOUR))).json).toMatchObject({
      ResponseCode: '1001',
    });
    // The statement has no such limit.
    expect((await call('GET', '/control/statement.csv')).text).toContain(old.receipt);
  });

  it('the pull_error fault answers 500.003.02 inside HTTP 200, once', async () => {
    await registerPull();
    await queueFault('pullquery', 'pull_error');
    const now = Date.now();
    expect(await post('/pulltransactions/v1/query', pullQueryBody(now - HOUR, now))).toMatchObject({
      status: 200,
      json: { ResponseCode: '500.003.02', ResponseMessage: 'System is busy. Please try again in few minutes.' },
    });
    expect((await post('/pulltransactions/v1/query', pullQueryBody(now - HOUR, now))).json).toMatchObject({ ResponseCode: '1001' });
    expect((await queueFault('pullregister', 'pull_error')).status).toBe(400);
  });

  it('refuses an unreadable date', async () => {
    await registerPull();
    expect(
      await post('/pulltransactions/v1/query', {
        ShortCode: PAYBILL,
        StartDate: '05/12/2026 10:00',
        EndDate: '2026-12-05 11:00:00',
        OffSetValue: 0,
      }),
    ).toMatchObject({ status: 400, json: { errorMessage: 'Bad Request - Invalid StartDate' } });
  });
});

// ---- The ledger and the statement ----

describe('statement.csv and the ledger controls', () => {
  it('exports the ledger as the org-portal CSV: payments, payouts and reversals, newest first, running balance', async () => {
    const stkReceipt = await paidStk('254708374149', 1_500);
    await post('/mpesa/c2b/v2/registerurl', registerBody());
    const c2bPayment = await pay('254708374376', 2_500, 'LP7KQ2', { ShortCode: Number(SHORTCODE) });
    const b2c = await post('/mpesa/b2c/v3/paymentrequest', {
      OriginatorConversationID: 'LP-stmt-1',
      InitiatorName: 'testapi',
      SecurityCredential: publicEncrypt(
        { key: readFileSync(join(__dirname, '..', '..', 'certs', 'simulator.cer')), padding: constants.RSA_PKCS1_PADDING },
        Buffer.from(PASSWORD),
      ).toString('base64'),
      CommandID: 'BusinessPayment',
      Amount: 1_000,
      PartyA: 600992,
      PartyB: 254708374149,
      Remarks: 'Refund',
      ResultURL: `${appUrl}/result`,
      QueueTimeOutURL: `${appUrl}/timeout`,
    });
    expect(b2c.status).toBe(200);
    const payout = await moneyOut.findPayment('LP-stmt-1');

    const res = await call('GET', '/control/statement.csv');

    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(res.headers['content-disposition']).toMatch(
      /^attachment; filename="Statements for all shortcodes from \d{4}-\d{2}-\d{2} to \d{4}-\d{2}-\d{2}\.csv"$/,
    );
    const lines = res.text.split('\r\n');
    expect(lines[0]).toBe(STATEMENT_HEADER.join(','));
    const time = String.raw`\d{2}/\d{2}/\d{4} \d{2}:\d{2}:\d{2}`;
    expect(lines.slice(1, 4)).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${payout?.receipt},${time},Business Payment to Customer via API to 2547\\*{4}149 - JOHN DOE,Completed,0\\.00,"-1,000\\.00","3,000\\.00"$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          `^${c2bPayment.receipt},${time},Pay Bill from 2547\\*{4}376 - JOHN DOE Acc\\. LP7KQ2,Completed,"2,500\\.00",0\\.00,"4,000\\.00"$`,
        ),
      ),
      expect.stringMatching(
        new RegExp(
          `^${stkReceipt},${time},Pay Bill Online from 2547\\*{4}149 - JOHN DOE Acc\\. LP9MX4,Completed,"1,500\\.00",0\\.00,"1,500\\.00"$`,
        ),
      ),
    ]);
    expect(lines.slice(4)).toEqual(['']);

    const forShortcode = await call('GET', `/control/statement.csv?shortCode=${SHORTCODE}`);
    expect(forShortcode.text).not.toContain(payout?.receipt);
    expect(forShortcode.headers['content-disposition']).toContain(`Statements for ${SHORTCODE} from`);
  });

  it('from/to select the period; the first row carries the balance brought forward', async () => {
    const now = Date.now();
    await addRow({ kind: 'c2b', amount: 1_000, completedAt: new Date(now - 3 * HOUR).toISOString() });
    const inside = await addRow({ kind: 'c2b', amount: 250.5, completedAt: new Date(now - HOUR).toISOString() });

    const res = await call('GET', `/control/statement.csv?from=${encodeURIComponent(new Date(now - 2 * HOUR).toISOString())}`);

    expect(res.text.split('\r\n').slice(1, -1)).toEqual([
      expect.stringMatching(new RegExp(`^${inside.receipt},.*,250\\.50,0\\.00,"1,250\\.50"$`)),
    ]);
    expect((await call('GET', '/control/statement.csv?from=yesterday')).status).toBe(400);
  });

  it('shapes matched, missing_here, missing_at_mpesa and amount_mismatch rows on purpose; Pull sees the same', async () => {
    await registerPull(SHORTCODE);
    const started = Date.now() - 1_000;
    const matched = await paidStk('254708374149', 100);
    const mismatched = await paidStk('254708374149', 200);
    const missingAtMpesa = await paidStk('254708374149', 300);
    const missingHere = await addRow({
      kind: 'c2b',
      amount: 400,
      accountReference: 'LPZZZZ',
      details: 'Pay Bill from 2547****149 - JOHN DOE Acc. LPZZZZ',
    });

    expect((await call('PATCH', `/control/ledger/${mismatched}`, { amount: 250 })).json).toMatchObject({ amount: 250, origin: 'control' });
    expect((await call('DELETE', `/control/ledger/${missingAtMpesa}`)).json).toEqual({ id: missingAtMpesa, deleted: true });
    expect((await call('DELETE', `/control/ledger/${missingAtMpesa}`)).status).toBe(404);
    expect((await post('/control/ledger', { kind: 'c2b', amount: 1, receipt: matched })).status).toBe(409);

    const csv = (await call('GET', '/control/statement.csv')).text;
    expect(csv).toContain(`${matched},`);
    expect(csv).toMatch(new RegExp(`${mismatched},[^\\r]*,"?250\\.00"?,0\\.00,`));
    expect(csv).not.toContain(missingAtMpesa);
    expect(csv).toContain(`${missingHere.receipt},`);

    const answer = (await post('/pulltransactions/v1/query', pullQueryBody(started, Date.now(), 0, SHORTCODE))).json as Record<string, any>;
    expect(
      Object.fromEntries((answer.Response[0] as { transactionId: string; amount: string }[]).map((r) => [r.transactionId, r.amount])),
    ).toEqual({
      [matched]: '100.00',
      [mismatched]: '250.00',
      [missingHere.receipt]: '400.00',
    });
    expect((await call('GET', `/control/ledger?receipt=${mismatched.toLowerCase()}`)).json?.items).toEqual([
      expect.objectContaining({ receipt: mismatched, amount: 250 }),
    ]);
  });

  it('a reversal is a withdrawal naming the original receipt', async () => {
    const receipt = await paidStk('254708374149', 700);
    const res = await post('/mpesa/reversal/v1/request', {
      Initiator: 'testapi',
      SecurityCredential: publicEncrypt(
        { key: readFileSync(join(__dirname, '..', '..', 'certs', 'simulator.cer')), padding: constants.RSA_PKCS1_PADDING },
        Buffer.from(PASSWORD),
      ).toString('base64'),
      CommandID: 'TransactionReversal',
      TransactionID: receipt,
      Amount: 700,
      ReceiverParty: SHORTCODE,
      RecieverIdentifierType: '11',
      Remarks: 'Wrong paybill',
      ResultURL: `${appUrl}/result`,
      QueueTimeOutURL: `${appUrl}/timeout`,
    });
    expect(res.status).toBe(200);
    const reversal = await moneyOut.reversalOf(receipt);

    const csv = (await call('GET', '/control/statement.csv')).text;
    expect(csv.split('\r\n')[1]).toMatch(
      new RegExp(`^${reversal?.reversalReceipt},.*,Reversal of ${receipt} to 2547\\*{4}149 - JOHN DOE,Completed,0\\.00,-700\\.00,0\\.00$`),
    );
  });
});

// ---- The app's Daraja client against the simulator ----

describe('DarajaClient against the simulator', () => {
  function client(): DarajaClient {
    const config = buildConfig(validateEnv({ MPESA_BASE_URL: darajaUrl, MPESA_SHORTCODE: SHORTCODE })).mpesa;
    const token = bearer.slice('Bearer '.length);
    const auth = { getToken: async () => token, invalidate: async () => undefined };
    const budget = { acquire: async () => undefined, reportRateLimited: async () => undefined };
    return new DarajaClient(
      config,
      auth as unknown as DarajaAuthService,
      new SecurityCredentialService(config),
      budget as unknown as DarajaCallBudgetService,
      { record: async () => undefined },
      new DarajaHttp(config),
    );
  }
  const registration = () => ({
    shortCode: PAYBILL,
    responseType: 'Completed' as const,
    confirmationUrl: urls().ConfirmationURL,
    validationUrl: urls().ValidationURL,
  });

  it('c2bRegisterUrls reads the misspelled key, and "already registered" as a rejected already_registered', async () => {
    await expect(client().c2bRegisterUrls(registration())).resolves.toEqual({
      originatorConversationId: expect.stringMatching(/^[0-9a-f]{4}-/),
      responseCode: '0',
      responseDescription: 'Success',
    });

    await c2b.setSwitches({ registration: 'production' });
    const error = await client()
      .c2bRegisterUrls(registration())
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DarajaError);
    expect(error).toMatchObject({
      outcome: DarajaOutcome.Rejected,
      reason: 'already_registered',
      httpStatus: 500,
      errorCode: '500.003.1001',
      message: 'Urls are already registered.',
    });
  });

  it('pullRegister: 1000 then 1001, both success', async () => {
    const input = { shortCode: PAYBILL, nominatedNumber: '254722000000', callbackUrl: 'https://lp.example/pull' };
    await expect(client().pullRegister(input)).resolves.toEqual({
      responseRefId: expect.any(String),
      responseStatus: '1000',
      responseDescription: 'Shortcode Registered Successfully',
      alreadyRegistered: false,
    });
    await expect(client().pullRegister(input)).resolves.toEqual({
      responseRefId: expect.any(String),
      responseStatus: '1001',
      responseDescription: 'ShortCode already Registered',
      alreadyRegistered: true,
    });
  });

  it('pullQuery: parsed transactions and totals, 1001 undecided, a failure code inside HTTP 200 passed on', async () => {
    await registerPull();
    const now = Date.now();
    const row = await addRow({
      kind: 'c2b',
      amount: 168,
      shortCode: PAYBILL,
      accountReference: 'LP7KQ2',
      completedAt: new Date(now - 30 * 60_000).toISOString(),
    });

    const answer = await client().pullQuery({ shortCode: PAYBILL, start: new Date(now - HOUR), end: new Date(now), offset: 0 });

    expect(answer).toEqual({
      responseCode: '1000',
      responseMessage: 'Success',
      transactions: [
        {
          transactionId: row.receipt,
          trxDate: new Date(Math.floor(Date.parse(row.completedAt) / 1000) * 1000),
          msisdn: '2547 ***** 149',
          sender: 'JOHN DOE',
          transactionType: 'c2b-pay-bill-debit',
          billReference: 'LP7KQ2',
          amount: 168,
          organizationName: 'Daraja Simulator',
        },
      ],
      unreadable: 0,
      totalPages: 1,
      totalRecords: 1,
    });
    await expect(
      client().pullQuery({ shortCode: PAYBILL, start: new Date(now - 3 * HOUR), end: new Date(now - 2 * HOUR), offset: 0 }),
    ).resolves.toMatchObject({
      responseCode: '1001',
      responseMessage: 'No records found or Organization Name not available',
      transactions: [],
      totalPages: null,
    });
    await queueFault('pullquery', 'pull_error');
    await expect(
      client().pullQuery({ shortCode: PAYBILL, start: new Date(now - HOUR), end: new Date(now), offset: 0 }),
    ).resolves.toMatchObject({
      responseCode: '500.003.02',
      transactions: [],
    });
  });
});
