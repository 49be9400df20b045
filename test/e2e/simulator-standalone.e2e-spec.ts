// The stand-alone simulator (MODE=simulator) as a developer meets it: started as its own process, driven by a public
// Daraja client (npm `mpesa-api` v3) pointed at it by base URL alone, callbacks caught by a local HTTP receiver, its
// control API and recorder, and its page at `/` opened in headless Chromium.
//
// mpesa-api connects to the base URL's host on the protocol's default port (its HttpService keeps `hostname` and
// drops the port), so the simulator listens on port 80 of a loopback address of its own (127.x.y.z): no clash
// with anything else on the machine, and no proxy in between.
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Mpesa } from 'mpesa-api';
import { routes } from 'mpesa-api/lib/routes';
import { Browser, chromium } from 'playwright-core';
import { waitFor } from '../support/app';
import { PROJECT_ROOT } from '../support/e2e-state';
import { freePorts, stopProcess } from '../support/resources';
import { ReceivedWebhook, WebhookReceiver } from '../support/webhook-receiver';

const CONSUMER_KEY = 'simulator-consumer-key';
const CONSUMER_SECRET = 'simulator-consumer-secret';
const SHORTCODE = '174379';
const PASSKEY = 'bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919';
const INITIATOR = 'testapi';
const INITIATOR_PASSWORD = 'Safaricom999!*!';
const SUCCESS_PHONE = '254708374149';
const CHROMIUM_PATH = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

interface Standalone {
  child: ChildProcess;
  baseUrl: string;
  output: () => string;
}

/** `node dist/src/main.js` with MODE=simulator on port 80 of a fresh loopback address; resolves once it says it is ready. */
async function startStandalone(env: Record<string, string>): Promise<Standalone> {
  const host = `127.${randomInt(10, 250)}.${randomInt(0, 255)}.${randomInt(1, 254)}`;
  const child = spawn(process.execPath, ['dist/src/main.js'], {
    cwd: PROJECT_ROOT,
    // Only what the simulator needs: no DATABASE_URL or REDIS_URL, to show it uses neither.
    env: { PATH: process.env.PATH ?? '', MODE: 'simulator', SIMULATOR_HOST: host, SIMULATOR_PORT: '80', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`the simulator exited with ${child.exitCode}: ${output}`);
      return output.includes('Daraja simulator ready');
    },
    { timeoutMs: 90_000, message: 'the stand-alone simulator to start' },
  );
  return { child, baseUrl: `http://${host}`, output: () => output };
}

async function darajaFetch(url: string, init: RequestInit = {}): Promise<{ status: number; body: any }> {
  const res = await fetch(url, init);
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: kept as text
  }
  return { status: res.status, body };
}

function chromiumUnavailable(): string | undefined {
  const script = join(PROJECT_ROOT, 'scripts', 'ensure-chromium.sh');
  const run = spawnSync('bash', [script], { env: { ...process.env, CHROMIUM_PATH }, encoding: 'utf8', timeout: 330_000 });
  if (run.status === 0) return undefined;
  return (run.stderr?.trim() || run.error?.message || `scripts/ensure-chromium.sh exited with ${run.status}`).replace(/\s+/g, ' ');
}

describe('Stand-alone Daraja simulator (MODE=simulator) driven by mpesa-api', () => {
  let simulator: Standalone;
  let receiver: WebhookReceiver;
  let receiverUrl: string;
  let recordDir: string;
  let mpesa: Mpesa;
  const originalSandbox = routes.sandbox;

  const callbackAt = (path: string, predicate: (hook: ReceivedWebhook) => boolean = () => true) =>
    receiver.waitFor((hook) => hook.path === path && predicate(hook), 30_000);
  const control = (path: string, init: RequestInit = {}) => darajaFetch(`${simulator.baseUrl}/simulator/control${path}`, init);
  // authenticate() is private in mpesa-api's types but public at run time; every call of the client runs it first.
  const token = () => (mpesa as unknown as { authenticate(): Promise<string> }).authenticate();

  beforeAll(async () => {
    recordDir = mkdtempSync(join(tmpdir(), 'simulator-recordings-'));
    const [receiverPort] = await freePorts(1);
    receiver = await WebhookReceiver.start(receiverPort);
    receiverUrl = `http://127.0.0.1:${receiverPort}`;
    simulator = await startStandalone({ SIMULATOR_CALLBACK_DELAY_MS: '300', SIMULATOR_RECORD_DIR: recordDir });
    // By base URL alone: mpesa-api reads `routes.sandbox` when a client is made.
    routes.sandbox = simulator.baseUrl;
    mpesa = new Mpesa(
      {
        clientKey: CONSUMER_KEY,
        clientSecret: CONSUMER_SECRET,
        initiatorPassword: INITIATOR_PASSWORD,
        // The simulator's certificate: the one printed at its start. mpesa-api's bundled one is Safaricom's.
        certificatePath: join(PROJECT_ROOT, 'certs', 'simulator.cer'),
      },
      'sandbox',
    );
  }, 120_000);

  afterAll(async () => {
    routes.sandbox = originalSandbox;
    if (simulator) await stopProcess(simulator.child, 10_000);
    await receiver?.stop();
    if (recordDir) rmSync(recordDir, { recursive: true, force: true });
  });

  it('prints its credentials, the certificate for the SecurityCredential and its storage at start', () => {
    const out = simulator.output();
    for (const value of [CONSUMER_KEY, CONSUMER_SECRET, SHORTCODE, PASSKEY, INITIATOR, INITIATOR_PASSWORD, 'certs/simulator.cer']) {
      expect(out).toContain(value);
    }
    expect(out).toMatch(/Storage: +in memory/);
    expect(out).toMatch(/Timestamp check: +lenient/);
  });

  it('issues an OAuth token (GET /oauth/v1/generate at the root)', async () => {
    expect(await token()).toMatch(/^[A-Za-z0-9]{28}$/);
  });

  it('accepts an STK push with a UTC timestamp, says which clock it read, calls back and answers STK Query', async () => {
    const push = await mpesa.lipaNaMpesaOnline({
      BusinessShortCode: Number(SHORTCODE),
      passKey: PASSKEY,
      Amount: 10,
      PartyA: SUCCESS_PHONE,
      PartyB: SHORTCODE,
      PhoneNumber: SUCCESS_PHONE,
      CallBackURL: `${receiverUrl}/stk`,
      AccountReference: 'INV001',
      // mpesa-api's defaults fail Daraja's checks: 'CustomerPayBillOnline ' has a trailing space, and 'Lipa Na Mpesa
      // Online' is longer than TransactionDesc's 13 characters.
      TransactionType: 'CustomerPayBillOnline',
      TransactionDesc: 'Invoice 001',
    });
    expect(push).toMatchObject({ ResponseCode: '0', CheckoutRequestID: expect.stringMatching(/^ws_CO_/) });

    const callback = await callbackAt('/stk', (h) => h.body?.Body?.stkCallback?.CheckoutRequestID === push.CheckoutRequestID);
    expect(callback.body.Body.stkCallback.ResultCode).toBe(0);
    const items = callback.body.Body.stkCallback.CallbackMetadata.Item as { Name: string; Value: unknown }[];
    expect(items.find((i) => i.Name === 'Amount')?.Value).toBe(10);
    expect(simulator.output()).toContain('read as utc time');

    const query = await mpesa.lipaNaMpesaQuery({
      BusinessShortCode: Number(SHORTCODE),
      passKey: PASSKEY,
      CheckoutRequestID: push.CheckoutRequestID,
    });
    expect(query).toMatchObject({ ResponseCode: '0', ResultCode: '0', CheckoutRequestID: push.CheckoutRequestID });
  });

  it('pays out with B2C (v1) and posts the result to ResultURL', async () => {
    const ack = await mpesa.b2c({
      Initiator: INITIATOR,
      CommandID: 'BusinessPayment',
      Amount: 150,
      PartyA: SHORTCODE,
      PartyB: SUCCESS_PHONE,
      QueueTimeOutURL: `${receiverUrl}/b2c/timeout`,
      ResultURL: `${receiverUrl}/b2c/result`,
    });
    expect(ack).toMatchObject({ ResponseCode: '0' });
    const result = await callbackAt('/b2c/result', (h) => h.body?.Result?.ConversationID === ack.ConversationID);
    expect(result.body.Result.ResultCode).toBe(0);
    const params = result.body.Result.ResultParameters.ResultParameter as { Key: string; Value: unknown }[];
    expect(params.find((p) => p.Key === 'TransactionAmount')?.Value).toBe(150);
  });

  it('answers Account Balance with the balances in the result', async () => {
    const ack = await mpesa.accountBalance({
      Initiator: INITIATOR,
      CommandID: 'AccountBalance',
      PartyA: SHORTCODE,
      IdentifierType: '4',
      QueueTimeOutURL: `${receiverUrl}/balance/timeout`,
      ResultURL: `${receiverUrl}/balance/result`,
    });
    expect(ack).toMatchObject({ ResponseCode: '0' });
    const result = await callbackAt('/balance/result', (h) => h.body?.Result?.ConversationID === ack.ConversationID);
    expect(String(result.body.Result.ResultCode)).toBe('0');
    expect(JSON.stringify(result.body.Result.ResultParameters)).toContain('Utility Account');
  });

  describe('on a settled STK payment of KES 100', () => {
    let receipt: string;

    beforeAll(async () => {
      const push = await mpesa.lipaNaMpesaOnline({
        BusinessShortCode: Number(SHORTCODE),
        passKey: PASSKEY,
        Amount: 100,
        PartyA: SUCCESS_PHONE,
        PartyB: SHORTCODE,
        PhoneNumber: SUCCESS_PHONE,
        CallBackURL: `${receiverUrl}/stk-100`,
        AccountReference: 'INV100',
        TransactionType: 'CustomerPayBillOnline',
        TransactionDesc: 'Invoice 100',
      });
      const callback = await callbackAt('/stk-100', (h) => h.body?.Body?.stkCallback?.CheckoutRequestID === push.CheckoutRequestID);
      const items = callback.body.Body.stkCallback.CallbackMetadata.Item as { Name: string; Value: unknown }[];
      receipt = items.find((i) => i.Name === 'MpesaReceiptNumber')?.Value as string;
      expect(receipt).toMatch(/^[A-Z0-9]{10}$/);
    });

    it('refuses a reversal of more than was paid: 400.002.02 Invalid Amount, nothing reversed', async () => {
      const refused = await mpesa
        .reversal({
          Initiator: INITIATOR,
          CommandID: 'TransactionReversal',
          TransactionID: receipt,
          Amount: 101,
          ReceiverParty: SHORTCODE,
          ResultURL: `${receiverUrl}/reversal/result`,
          QueueTimeOutURL: `${receiverUrl}/reversal/timeout`,
        })
        .then(
          () => undefined,
          (error: { statusCode: number; data: any }) => error,
        );
      expect(refused?.statusCode).toBe(400);
      expect(refused?.data).toMatchObject({ errorCode: '400.002.02', errorMessage: 'Bad Request - Invalid Amount' });
    });

    it('reverses the requested Amount (a partial reversal of KES 40)', async () => {
      const ack = await mpesa.reversal({
        Initiator: INITIATOR,
        CommandID: 'TransactionReversal',
        TransactionID: receipt,
        Amount: 40,
        ReceiverParty: SHORTCODE,
        ResultURL: `${receiverUrl}/reversal/result`,
        QueueTimeOutURL: `${receiverUrl}/reversal/timeout`,
      });
      expect(ack).toMatchObject({ ResponseCode: '0' });
      const result = await callbackAt('/reversal/result', (h) => h.body?.Result?.ConversationID === ack.ConversationID);
      expect(result.body.Result.ResultCode).toBe(0);
      const params = result.body.Result.ResultParameters.ResultParameter as { Key: string; Value: unknown }[];
      expect(params.find((p) => p.Key === 'Amount')?.Value).toBe(40);
      expect(params.find((p) => p.Key === 'OriginalTransactionID')?.Value).toBe(receipt);
    });

    it('answers Transaction Status for the receipt in the result', async () => {
      const ack = await mpesa.transactionStatus({
        Initiator: INITIATOR,
        TransactionID: receipt,
        PartyA: SHORTCODE,
        IdentifierType: '4',
        ResultURL: `${receiverUrl}/status/result`,
        QueueTimeOutURL: `${receiverUrl}/status/timeout`,
      });
      expect(ack).toMatchObject({ ResponseCode: '0' });
      const result = await callbackAt('/status/result', (h) => h.body?.Result?.ConversationID === ack.ConversationID);
      expect(result.body.Result.ResultCode).toBe(0);
      expect(JSON.stringify(result.body.Result.ResultParameters)).toContain(receipt);
    });
  });

  it('registers C2B URLs (v1) and confirms a simulated payment to them', async () => {
    const registered = await mpesa.c2bRegister({
      ShortCode: Number(SHORTCODE),
      ResponseType: 'Completed',
      ConfirmationURL: `${receiverUrl}/c2b/confirmation`,
      ValidationURL: `${receiverUrl}/c2b/validation`,
    });
    expect(registered).toMatchObject({ ResponseCode: '0' });

    const simulated = await mpesa.c2bSimulate({
      ShortCode: Number(SHORTCODE),
      CommandID: 'CustomerPayBillOnline',
      Amount: 75,
      Msisdn: Number(SUCCESS_PHONE),
      BillRefNumber: 'ACC75',
    });
    // v1's acknowledgement has no ResponseCode, only ids and a description (docs/daraja.md §9.11).
    expect(simulated).toMatchObject({ ConversationID: expect.any(String), ResponseDescription: expect.any(String) });
    const confirmation = await callbackAt('/c2b/confirmation', (h) => h.body?.BillRefNumber === 'ACC75');
    expect(confirmation.body).toMatchObject({ TransAmount: '75.00', BusinessShortCode: SHORTCODE });
  });

  describe("Daraja's error shapes", () => {
    it.each(['/mpesa/b2c/v1/paymentrequest', '/mpesa/b2c/v3/paymentrequest', '/mpesa/accountbalance/v1/query'])(
      'answers a bad token on %s with HTTP 401 401.002.01 naming the token',
      async (path) => {
        const res = await darajaFetch(`${simulator.baseUrl}${path}`, {
          method: 'POST',
          headers: { authorization: 'Bearer notAToken', 'content-type': 'application/json' },
          body: '{}',
        });
        expect(res.status).toBe(401);
        expect(res.body).toEqual({
          requestId: expect.any(String),
          errorCode: '401.002.01',
          errorMessage: 'Error Occurred - Invalid Access Token - notAToken',
        });
      },
    );

    it('answers a bad token on STK push with 404.001.03 as before', async () => {
      const res = await darajaFetch(`${simulator.baseUrl}/mpesa/stkpush/v1/processrequest`, {
        method: 'POST',
        headers: { authorization: 'Bearer notAToken', 'content-type': 'application/json' },
        body: '{}',
      });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ errorCode: '404.001.03', errorMessage: 'Invalid Access Token' });
    });

    it.each([
      ['GET', '/mpesa/stkpush/v1/processrequest'],
      ['PUT', '/mpesa/accountbalance/v1/query'],
      ['POST', '/oauth/v1/generate?grant_type=client_credentials'],
    ])('answers %s %s with HTTP 405 405.001', async (method, path) => {
      const res = await darajaFetch(`${simulator.baseUrl}${path}`, { method });
      expect(res.status).toBe(405);
      expect(res.body).toEqual({ requestId: expect.any(String), errorCode: '405.001', errorMessage: `${method} Method Not Allowed` });
    });

    it('answers an unknown Daraja path with 404.001.01 Resource not found', async () => {
      const res = await darajaFetch(`${simulator.baseUrl}/mpesa/nothing/v1/here`, { method: 'POST' });
      expect(res.status).toBe(404);
      expect(res.body).toMatchObject({ errorCode: '404.001.01', errorMessage: 'Resource not found' });
    });

    it('still refuses a Timestamp far from Kenya, UTC and host time, in lenient mode', async () => {
      const accessToken = await token();
      const stale = '20200101120000';
      const res = await darajaFetch(`${simulator.baseUrl}/mpesa/stkpushquery/v1/query`, {
        method: 'POST',
        headers: { authorization: `Bearer ${accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({
          BusinessShortCode: SHORTCODE,
          Password: Buffer.from(`${SHORTCODE}${PASSKEY}${stale}`).toString('base64'),
          Timestamp: stale,
          CheckoutRequestID: 'ws_CO_000000000000000000000',
        }),
      });
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ errorCode: '400.002.02', errorMessage: 'Bad Request - Invalid Timestamp' });
    });
  });

  describe('control API', () => {
    it('applies a fault queued for the next request, then answers normally', async () => {
      const queued = await control('/faults', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ endpoint: 'balance', kind: 'system_busy' }),
      });
      expect(queued.status).toBe(200);
      const request = () =>
        mpesa.accountBalance({
          Initiator: INITIATOR,
          CommandID: 'AccountBalance',
          PartyA: SHORTCODE,
          IdentifierType: '4',
          QueueTimeOutURL: `${receiverUrl}/balance/timeout`,
          ResultURL: `${receiverUrl}/balance/result`,
        });
      const busy = await request().then(
        () => undefined,
        (error: { statusCode: number; data: any }) => error,
      );
      expect(busy?.statusCode).toBe(500);
      expect(busy?.data).toMatchObject({ errorCode: '500.003.02' });
      expect(await request()).toMatchObject({ ResponseCode: '0' });
    });

    it('lists the calls it received, with their answers, in the journal (newest first)', async () => {
      const journal = await control('/journal');
      const calls = (journal.body.items as { kind: string; endpoint: string; at: string; answer: { status: number } }[]).filter(
        (e) => e.kind === 'call',
      );
      expect(calls.map((c) => c.endpoint)).toEqual(expect.arrayContaining(['oauth', 'stkpush', 'stkquery', 'b2c', 'balance', 'reversal']));
      const times = calls.map((c) => Date.parse(c.at));
      expect(times).toEqual([...times].sort((a, b) => b - a));
      expect(calls.find((c) => c.endpoint === 'balance')?.answer.status).toBe(200);
    });

    it('records a run as a JSON fixture with secrets redacted, written to SIMULATOR_RECORD_DIR', async () => {
      expect((await control('/recorder/start', { method: 'POST' })).status).toBe(200);
      const push = await mpesa.lipaNaMpesaOnline({
        BusinessShortCode: Number(SHORTCODE),
        passKey: PASSKEY,
        Amount: 5,
        PartyA: SUCCESS_PHONE,
        PartyB: SHORTCODE,
        PhoneNumber: SUCCESS_PHONE,
        CallBackURL: `${receiverUrl}/recorded?token=secret123`,
        AccountReference: 'REC1',
        TransactionType: 'CustomerPayBillOnline',
        TransactionDesc: 'Recorded',
      });
      await callbackAt('/recorded?token=secret123', (h) => h.body?.Body?.stkCallback?.CheckoutRequestID === push.CheckoutRequestID);
      // The callback's journal entry is written once its answer is in: wait until the recorder holds it.
      await waitFor(
        async () =>
          ((await control('/journal')).body.items as { label?: string }[]).some(
            (e) => e.label === `STK callback ${push.CheckoutRequestID}`,
          ),
        { message: 'the journal to hold the callback' },
      );

      const stopped = await control('/recorder/stop?name=stk-success', { method: 'POST' });
      expect(stopped.status).toBe(200);
      const file = join(recordDir, 'stk-success.json');
      expect(stopped.body.file).toBe(file);
      expect(existsSync(file)).toBe(true);
      const recording = JSON.parse(readFileSync(file, 'utf8'));
      expect(recording).toEqual(stopped.body);

      // The STK callback, and (C2B URLs being registered by then) the C2B confirmation M-Pesa sends for the payment.
      const kinds = recording.entries.map((e: { kind: string; endpoint?: string }) => e.endpoint ?? e.kind);
      expect(kinds.slice(0, 2)).toEqual(['oauth', 'stkpush']);
      expect(kinds.slice(2).every((k: string) => k === 'callback')).toBe(true);
      const [oauth, stk] = recording.entries;
      const callback = recording.entries.find((e: { label?: string }) => e.label?.startsWith('STK callback'));
      expect(oauth.answer.body.access_token).toBe('<redacted>');
      expect(stk.request.Password).toBe('<redacted>');
      expect(stk.request.CallBackURL).not.toContain('secret123');
      expect(stk.answer.body.CheckoutRequestID).toBe(push.CheckoutRequestID);
      expect(callback.payload.Body.stkCallback.CheckoutRequestID).toBe(push.CheckoutRequestID);
      expect(callback.answer.status).toBe(200);
      expect(JSON.stringify(recording)).not.toContain('secret123');

      expect((await control('/recorder/stop', { method: 'POST' })).status).toBe(409);
    });
  });

  const unavailable = chromiumUnavailable();
  if (unavailable) console.warn(`Skipping the browser check of the simulator's page: ${unavailable}`);
  (unavailable ? describe.skip : describe)('its page at / (headless Chromium)', () => {
    let browser: Browser;

    beforeAll(async () => {
      browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true });
    });
    afterAll(async () => browser?.close());

    it('shows the credentials, the test numbers, and the calls and callbacks redacted, newest first', async () => {
      const page = await browser.newPage();
      const response = await page.goto(`${simulator.baseUrl}/`);
      expect(response?.status()).toBe(200);
      expect(await page.title()).toBe('Daraja simulator');

      const credentials = await page.locator('#credentials').innerText();
      for (const value of [CONSUMER_KEY, CONSUMER_SECRET, SHORTCODE, PASSKEY, INITIATOR, 'simulator.cer'])
        expect(credentials).toContain(value);
      const numbers = await page.locator('#test-numbers').innerText();
      expect(numbers).toContain('254700001032');
      expect(numbers).toContain('254700000001');

      const calls = page.locator('#calls tbody tr');
      expect(await calls.count()).toBeGreaterThan(10);
      const callsText = await page.locator('#calls').innerText();
      expect(callsText).toContain('/mpesa/stkpush/v1/processrequest');
      expect(callsText).toContain('2547******49');
      expect(callsText).not.toContain(SUCCESS_PHONE);
      expect(callsText).not.toContain(
        Buffer.from(SHORTCODE + PASSKEY)
          .toString('base64')
          .slice(0, 20),
      );
      expect(callsText).toContain('<redacted>');
      const times = await page.locator('#calls tbody tr td:first-child').allInnerTexts();
      expect(times).toEqual([...times].sort().reverse());

      const callbacksText = await page.locator('#callbacks').innerText();
      expect(callbacksText).toContain('STK callback');
      expect(callbacksText).not.toContain(SUCCESS_PHONE);
      expect(callbacksText).not.toContain('secret123');
      await page.close();
    });
  });
});
