// Clients hear about their payments by email and SMS: "payment received", "payment failed" and "refund sent", each
// an outbox row per channel, delivered by a retried job that records every attempt. Delivered to a local SMTP server
// and a local SMS gateway started here, through an app of this file's own that is configured for both.
import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { api, ApiOptions, tokenFor, uniquePhone, waitFor } from '../support/app';
import { ExtraApp, startExtraApp } from '../support/extra-app';
import { JobSampler } from '../support/job-sampler';
import { masked, SCENARIO_PHONES, sleep, stkPushBody } from '../support/factories';
import { SmtpSink } from '../support/smtp-sink';
import { ReceivedWebhook, WebhookReceiver } from '../support/webhook-receiver';

const SMTP_FROM = 'LegalPro Payments <payments@legalpro.test>';
const SMS_API_KEY = 'sms-gateway-test-key-0123';

describe('Client notifications by email and SMS', () => {
  let app: ExtraApp;
  let pool: Pool;
  let mail: SmtpSink;
  let gateway: WebhookReceiver;
  const client = tokenFor({ sub: `client-${randomUUID()}`, role: 'client' });
  const admin = tokenFor({ sub: `admin-${randomUUID()}`, role: 'admin' });
  const call = (path: string, options: ApiOptions = {}) => api(path, { ...options, baseUrl: app.url });
  /** Every phone and email this file hands the app: none may appear in clear where it must not. */
  const phonesUsed: string[] = [];
  const emailsUsed: string[] = [];
  /** Job fields seen in Redis while the file runs (a retried SMS waits seconds between attempts). */
  let jobs: JobSampler | undefined;
  let sampleRedis: Redis | undefined;

  beforeAll(async () => {
    mail = await SmtpSink.start({ user: 'mailer', pass: 'mailer-pass' });
    gateway = await WebhookReceiver.start(0);
    app = await startExtraApp(
      {
        SMTP_URL: `smtp://mailer:mailer-pass@127.0.0.1:${mail.port}`,
        SMTP_FROM,
        SMS_GATEWAY_URL: `http://127.0.0.1:${gateway.port}/v1/sms`,
        SMS_GATEWAY_API_KEY: SMS_API_KEY,
        SMS_SENDER_ID: 'LegalPro',
        SMS_GATEWAY_TIMEOUT_MS: '2000',
        CLIENT_NOTIFICATION_EVENTS: 'payment.received,payment.failed,refund.sent',
        // Only the client channels here: no LegalPro webhook.
        WEBHOOK_URL: '',
      },
      'client-notifications',
    );
    pool = new Pool({ connectionString: app.databaseUrl, max: 2 });
    sampleRedis = new Redis(app.env.REDIS_URL, { maxRetriesPerRequest: 2 });
    jobs = new JobSampler(sampleRedis, app.redisKeyPrefix);
    jobs.start();
  });

  afterAll(async () => {
    jobs?.stop();
    sampleRedis?.disconnect();
    await pool?.end();
    await app?.stop();
    await gateway?.stop();
    await mail?.stop();
  });

  afterEach(() => gateway.respondWith(200));

  /** Starts a payment; a fresh phone (recorded) unless given. */
  async function push(overrides: Record<string, unknown> = {}): Promise<{ paymentId: string; phone: string; status: number }> {
    const phone = (overrides.phoneNumber as string | undefined) ?? uniquePhone();
    phonesUsed.push(phone);
    if (typeof overrides.email === 'string') emailsUsed.push(overrides.email);
    const res = await call('/api/payments/stk-push', { token: client, body: stkPushBody({ phoneNumber: phone, ...overrides }) });
    return { paymentId: res.body?.data?.paymentId, phone, status: res.status };
  }

  const q = async (sql: string, params: unknown[] = []) => (await pool.query(sql, params)).rows;
  const paymentRow = async (id: string) => (await q('SELECT * FROM payments WHERE id = $1', [id]))[0];

  async function waitForPayment(id: string, status: string): Promise<Record<string, any>> {
    return waitFor(async () => ((await paymentRow(id))?.status === status ? paymentRow(id) : undefined), {
      timeoutMs: 20_000,
      message: `payment ${id} to be ${status}`,
    });
  }

  /** The subject's email/SMS rows once none is pending any more. */
  async function settledClientNotifications(subjectId: string, count: number): Promise<Record<string, any>[]> {
    return waitFor(
      async () => {
        const rows = await q(`SELECT * FROM notifications WHERE subject_id = $1 AND channel IN ('email', 'sms') ORDER BY channel`, [
          subjectId,
        ]);
        return rows.length === count && rows.every((r) => r.status !== 'pending') ? rows : undefined;
      },
      { timeoutMs: 30_000, message: `${count} client notification(s) about ${subjectId} to finish` },
    );
  }

  const attemptsOf = (notificationId: string) =>
    q('SELECT * FROM notification_attempts WHERE notification_id = $1 ORDER BY attempt', [notificationId]);
  const smsTo = (phone: string) => (hook: ReceivedWebhook) => hook.body?.to === `+${phone}`;
  const smsesTo = (phone: string) => gateway.received.filter(smsTo(phone));

  /** `26 Nov 2026 14:05 EAT` for a stored timestamp: Kenya is UTC+3 all year. */
  function kenyaTime(value: Date | string): string {
    const eat = new Date(new Date(value).getTime() + 3 * 3_600_000);
    const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    const hh = String(eat.getUTCHours()).padStart(2, '0');
    const mm = String(eat.getUTCMinutes()).padStart(2, '0');
    return `${eat.getUTCDate()} ${months[eat.getUTCMonth()]} ${eat.getUTCFullYear()} ${hh}:${mm} EAT`;
  }

  describe('payment received', () => {
    it('emails the client the amount, receipt, reference and Kenya-time date, with the name HTML-escaped', async () => {
      const email = `wanjiru.${randomUUID().slice(0, 8)}@example.com`;
      const { paymentId, status } = await push({
        amount: 2_500,
        accountReference: 'CASE-2291',
        email,
        customerName: '  Wanjiru & <Kamau>  ',
      });
      expect(status).toBe(201);
      const row = await waitForPayment(paymentId, 'completed');

      const message = await mail.waitFor((m) => m.to.includes(email));

      expect(row.customer_name).toBe('Wanjiru & <Kamau>');
      expect(message.from).toBe('payments@legalpro.test');
      expect(message.authUser).toBe('mailer');
      expect(message.headers.from).toBe(SMTP_FROM);
      expect(message.subject).toBe('Payment received: KES 2,500');
      expect(message.text).toContain('Dear Wanjiru & <Kamau>,');
      expect(message.text).toContain('We have received your M-Pesa payment of KES 2,500.');
      expect(message.text).toContain(`M-Pesa receipt: ${row.mpesa_receipt_number}`);
      expect(message.text).toContain('Reference: CASE-2291');
      expect(message.text).toContain(`Date: ${kenyaTime(row.transaction_date ?? row.completed_at)}`);
      expect(message.html).toContain('Dear Wanjiru &amp; &lt;Kamau&gt;,');
      expect(message.html).not.toContain('<Kamau>');
      expect(message.html).toContain(`<strong>${row.mpesa_receipt_number}</strong>`);
    });

    it('texts the phone that paid through the gateway, in one SMS segment, with the bearer key and sender id', async () => {
      const { paymentId, phone } = await push({ amount: 1_200, accountReference: 'CASE-77', customerName: 'Otieno Odhiambo' });
      const row = await waitForPayment(paymentId, 'completed');

      const sms = await gateway.waitFor(smsTo(phone), 20_000);

      expect(sms.method).toBe('POST');
      expect(sms.path).toBe('/v1/sms');
      expect(sms.headers.authorization).toBe(`Bearer ${SMS_API_KEY}`);
      expect(sms.headers['content-type']).toMatch(/^application\/json/);
      expect(Object.keys(sms.body).sort()).toEqual(['message', 'senderId', 'to']);
      expect(sms.body.senderId).toBe('LegalPro');
      const text: string = sms.body.message;
      expect(text.length).toBeLessThanOrEqual(160);
      expect(text).toContain('Otieno, we received KES 1,200');
      expect(text).toContain(`M-Pesa receipt ${row.mpesa_receipt_number}`);
      expect(text).toContain('ref CASE-77');
      expect(text).toContain(kenyaTime(row.transaction_date ?? row.completed_at));
      expect(text).not.toContain(phone.slice(3));
    });

    it('writes one delivered row per channel, each attempt recorded with a masked recipient', async () => {
      const email = `akinyi.${randomUUID().slice(0, 8)}@example.com`;
      const { paymentId, phone } = await push({ email });
      await waitForPayment(paymentId, 'completed');

      const [emailRow, smsRow] = await settledClientNotifications(paymentId, 2);

      expect(emailRow).toMatchObject({ channel: 'email', event: 'payment.received', status: 'delivered', attempts: 1, last_error: null });
      expect(smsRow).toMatchObject({ channel: 'sms', event: 'payment.received', status: 'delivered', attempts: 1, last_error: null });
      const [emailAttempt] = await attemptsOf(emailRow.id);
      expect(emailAttempt).toMatchObject({ attempt: 1, status_code: 250, error: null, recipient: `${email[0]}***@example.com` });
      const [smsAttempt] = await attemptsOf(smsRow.id);
      expect(smsAttempt).toMatchObject({ attempt: 1, status_code: 200, error: null, recipient: masked(phone) });
    });

    it('sends only the SMS when the client gave no email', async () => {
      const { paymentId } = await push();
      await waitForPayment(paymentId, 'completed');

      const rows = await settledClientNotifications(paymentId, 1);

      expect(rows.map((r) => [r.channel, r.status])).toEqual([['sms', 'delivered']]);
    });
  });

  describe('payment failed', () => {
    it.each([
      {
        end: 'cancelled by the customer',
        phone: SCENARIO_PHONES.cancelledByUser,
        status: 'cancelled',
        reason: 'the M-Pesa request was cancelled on your phone',
      },
      {
        end: 'failed for insufficient funds',
        phone: SCENARIO_PHONES.insufficientFunds,
        status: 'failed',
        reason: 'your M-Pesa balance was not enough',
      },
    ])('tells a client whose payment was $end why, in plain words', async ({ phone, status, reason }) => {
      const email = `client.${randomUUID().slice(0, 8)}@example.com`;
      const { paymentId } = await push({ phoneNumber: phone, amount: 800, accountReference: 'CASE-15', email, customerName: 'Njeri' });
      const row = await waitForPayment(paymentId, status);

      const message = await mail.waitFor((m) => m.to.includes(email));
      const sms = await gateway.waitFor((hook) => smsTo(phone)(hook) && String(hook.body?.message).includes('did not go through'), 20_000);

      expect(message.subject).toBe('Payment not completed: KES 800');
      expect(message.text).toContain(`Your M-Pesa payment of KES 800 (ref CASE-15) did not go through: ${reason}.`);
      expect(message.text).toContain(`Date: ${kenyaTime(row.failed_at)}`);
      expect(sms.body.message).toBe(
        `Njeri, your payment of KES 800 (ref CASE-15) did not go through: ${reason}. No money was taken. LegalPro`,
      );
      const rows = await settledClientNotifications(paymentId, 2);
      expect(rows.map((r) => [r.channel, r.event, r.status])).toEqual([
        ['email', 'payment.failed', 'delivered'],
        ['sms', 'payment.failed', 'delivered'],
      ]);
    });
  });

  describe('refund sent', () => {
    it('tells the client by email and by SMS to the phone that paid once an admin refund is paid', async () => {
      const email = `refund.${randomUUID().slice(0, 8)}@example.com`;
      const { paymentId, phone } = await push({ amount: 1_000, accountReference: 'CASE-404', email, customerName: 'Kamau' });
      await waitForPayment(paymentId, 'completed');
      await settledClientNotifications(paymentId, 2);

      const res = await call(`/api/payments/${paymentId}/refund`, {
        method: 'POST',
        token: admin,
        body: { amount: 400, reason: 'Consultation cancelled by the advocate' },
      });
      expect(res.status).toBe(202);
      const payoutId: string = res.body.data.id;
      const payout = await waitFor(async () => (await q(`SELECT * FROM payouts WHERE id = $1 AND status = 'completed'`, [payoutId]))[0], {
        timeoutMs: 25_000,
        message: 'the refund to be paid',
      });

      const message = await mail.waitFor((m) => m.to.includes(email) && m.subject.startsWith('Refund sent'));
      const sms = await gateway.waitFor((hook) => smsTo(phone)(hook) && String(hook.body?.message).includes('refunded'), 20_000);

      expect(message.subject).toBe('Refund sent: KES 400');
      expect(message.text).toContain('Dear Kamau,');
      expect(message.text).toContain('We have refunded KES 400 to your M-Pesa for payment CASE-404.');
      expect(message.text).toContain(`M-Pesa receipt: ${payout.transaction_id}`);
      expect(sms.body.message).toBe(`Kamau, we refunded KES 400 to your M-Pesa, receipt ${payout.transaction_id}, ref CASE-404. LegalPro`);
      const rows = await settledClientNotifications(payoutId, 2);
      expect(rows.map((r) => [r.channel, r.event, r.status])).toEqual([
        ['email', 'refund.sent', 'delivered'],
        ['sms', 'refund.sent', 'delivered'],
      ]);
    }, 60_000);
  });

  describe('delivery when the SMS gateway refuses', () => {
    it('retries a gateway that answers 500 twice, records the three attempts, and ends delivered', async () => {
      const phone = uniquePhone();
      let refused = 0;
      gateway.respondWith((hook) => (smsTo(phone)(hook) && refused++ < 2 ? { status: 500, body: { error: 'upstream unavailable' } } : 200));
      const { paymentId } = await push({ phoneNumber: phone });
      await waitForPayment(paymentId, 'completed');

      const [sms] = await settledClientNotifications(paymentId, 1);

      expect(sms).toMatchObject({ channel: 'sms', status: 'delivered', attempts: 3, last_error: null });
      expect((await attemptsOf(sms.id)).map(({ attempt, status_code, error }) => ({ attempt, status_code, error }))).toEqual([
        { attempt: 1, status_code: 500, error: 'HTTP 500: {"error":"upstream unavailable"}' },
        { attempt: 2, status_code: 500, error: 'HTTP 500: {"error":"upstream unavailable"}' },
        { attempt: 3, status_code: 200, error: null },
      ]);
      expect(smsesTo(phone)).toHaveLength(3);
    }, 60_000);

    it('does not retry a 400, ends failed, and stores the gateway error without the number it echoed', async () => {
      const phone = uniquePhone();
      gateway.respondWith((hook) => (smsTo(phone)(hook) ? { status: 400, body: { error: `invalid destination +${phone}` } } : 200));
      const { paymentId } = await push({ phoneNumber: phone });
      await waitForPayment(paymentId, 'completed');

      const [sms] = await settledClientNotifications(paymentId, 1);
      await sleep(3_000); // longer than the first backoff: a retry would have come by now

      expect(smsesTo(phone)).toHaveLength(1);
      const [after] = await q('SELECT * FROM notifications WHERE id = $1', [sms.id]);
      expect(after).toMatchObject({
        status: 'failed',
        attempts: 1,
        last_error: `HTTP 400: {"error":"invalid destination ${masked(phone)}"}`,
      });
      const attempts = await attemptsOf(sms.id);
      expect(attempts).toHaveLength(1);
      expect(attempts[0]).toMatchObject({ attempt: 1, status_code: 400 });
      expect(JSON.stringify(attempts)).not.toContain(phone);
    });
  });

  describe('an email the mail server refuses for good', () => {
    it('is not retried and ends failed, with the address masked in the error', async () => {
      const email = `nobody.${randomUUID().slice(0, 8)}@example.com`;
      mail.respondWith((address) => (address === email ? 550 : undefined));
      try {
        const { paymentId } = await push({ email });
        await waitForPayment(paymentId, 'completed');

        const rows = await settledClientNotifications(paymentId, 2);
        await sleep(3_000);

        const [emailRow] = await q(`SELECT * FROM notifications WHERE id = $1`, [rows[0].id]);
        expect(emailRow).toMatchObject({ channel: 'email', status: 'failed', attempts: 1 });
        expect(emailRow.last_error).toMatch(/^SMTP 550: /);
        expect(emailRow.last_error).not.toContain(email);
        expect(mail.recipients.filter((r) => r === email)).toHaveLength(1);
        expect(rows[1]).toMatchObject({ channel: 'sms', status: 'delivered' });
      } finally {
        mail.respondWith(() => undefined);
      }
    });
  });

  describe('personal data', () => {
    it('keeps the email encrypted and out of the stored request, and phones and emails out of notification payloads', async () => {
      const email = `private.${randomUUID().slice(0, 8)}@example.com`;
      const { paymentId } = await push({ email, customerName: 'Achieng' });
      await waitForPayment(paymentId, 'completed');
      await settledClientNotifications(paymentId, 2);

      const row = await paymentRow(paymentId);
      expect(row.customer_email_encrypted).toMatch(/^v2\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
      expect(row.customer_email_encrypted).not.toContain(email);
      expect(JSON.stringify(row.request_payload)).not.toContain(email);

      const rows = await q(`SELECT payload::text AS payload, last_error FROM notifications WHERE channel IN ('email', 'sms')`);
      expect(rows.length).toBeGreaterThanOrEqual(10);
      const stored = JSON.stringify(rows);
      for (const phone of phonesUsed) {
        expect(stored).not.toContain(phone);
        expect(stored).not.toContain(phone.slice(3));
      }
      for (const address of emailsUsed) expect(stored).not.toContain(address);
    });

    it('puts neither phone numbers nor email addresses in BullMQ job data', async () => {
      // Jobs are removed once done: what is in Redis now, and what the sampler saw while jobs waited.
      const sampled = (await jobs?.seen()) ?? '';
      const smsRows = await q(`SELECT id FROM notifications WHERE channel = 'sms'`);
      expect(smsRows.length).toBeGreaterThan(0);
      const redis = new Redis(app.env.REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 2 });
      await redis.connect();
      try {
        // BullMQ's keys only: the embedded simulator (standing in for Safaricom) keeps its own records beside them.
        const dump: string[] = [];
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${app.redisKeyPrefix}:bull:*`, 'COUNT', 1000);
          cursor = next;
          for (const key of keys) {
            const type = await redis.type(key);
            if (type === 'string') dump.push(key, (await redis.get(key)) ?? '');
            else if (type === 'hash') dump.push(key, ...Object.values(await redis.hgetall(key)));
            else if (type === 'list') dump.push(key, ...(await redis.lrange(key, 0, -1)));
            else if (type === 'set') dump.push(key, ...(await redis.smembers(key)));
            else if (type === 'zset') dump.push(key, ...(await redis.zrange(key, 0, -1)));
            else if (type === 'stream') dump.push(key, JSON.stringify(await redis.xrange(key, '-', '+')));
          }
        } while (cursor !== '0');
        const all = [...dump, sampled].join('\n');

        // The scan must at least see SMS jobs' data (the retried SMS waited seconds between its attempts).
        expect(smsRows.some((row) => all.includes(`"notificationId":"${row.id}"`))).toBe(true);
        expect(all).toContain('deliver-sms');
        for (const phone of phonesUsed) {
          expect(all).not.toContain(phone);
          expect(all).not.toContain(phone.slice(3));
        }
        for (const address of emailsUsed) expect(all).not.toContain(address);
      } finally {
        await redis.quit();
      }
    });
  });

  describe('the push request', () => {
    it.each([
      { what: 'a malformed email', field: 'email', value: 'not-an-email', message: 'email must be a valid email address' },
      {
        what: 'an email over 254 characters',
        field: 'email',
        value: `${'a'.repeat(250)}@example.com`,
        message: 'email must be at most 254 characters',
      },
      {
        what: 'a name over 100 characters',
        field: 'customerName',
        value: 'N'.repeat(101),
        message: 'customerName must be at most 100 characters',
      },
    ])('refuses $what with 400 and stores nothing', async ({ field, value, message }) => {
      const before = (await q('SELECT count(*)::int AS n FROM payments'))[0].n;
      const phone = uniquePhone();

      const res = await call('/api/payments/stk-push', { token: client, body: stkPushBody({ phoneNumber: phone, [field]: value }) });

      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ success: false, code: expect.any(String) });
      expect(res.body.message).toContain(message);
      expect((await q('SELECT count(*)::int AS n FROM payments'))[0].n).toBe(before);
    });
  });

  describe('with neither SMTP nor an SMS gateway configured', () => {
    let bare: ExtraApp;
    let barePool: Pool;

    beforeAll(async () => {
      // CLIENT_NOTIFICATION_EVENTS unset (the shared test env turns it off): every event, as in production.
      bare = await startExtraApp({ WEBHOOK_URL: '', CLIENT_NOTIFICATION_EVENTS: '' }, 'client-notifications-off');
      barePool = new Pool({ connectionString: bare.databaseUrl, max: 2 });
    });

    afterAll(async () => {
      await barePool?.end();
      await bare?.stop();
    });

    it('records each client notification as skipped, with the reason, and sends nothing', async () => {
      const phone = uniquePhone();
      const email = `skipped.${randomUUID().slice(0, 8)}@example.com`;
      const res = await api('/api/payments/stk-push', {
        baseUrl: bare.url,
        token: client,
        body: stkPushBody({ phoneNumber: phone, email }),
      });
      expect(res.status).toBe(201);
      const paymentId: string = res.body.data.paymentId;

      const rows = await waitFor(
        async () => {
          const { rows } = await barePool.query(
            `SELECT * FROM notifications WHERE subject_id = $1 AND channel IN ('email', 'sms') ORDER BY channel`,
            [paymentId],
          );
          return rows.length === 2 ? rows : undefined;
        },
        { timeoutMs: 20_000, message: 'the skipped client notifications' },
      );

      expect(rows.map((r) => [r.channel, r.event, r.status, r.last_error, r.attempts])).toEqual([
        ['email', 'payment.received', 'skipped', 'SMTP_URL (or SMTP_HOST) is not configured', 0],
        ['sms', 'payment.received', 'skipped', 'SMS_GATEWAY_URL is not configured', 0],
      ]);
      const { rows: attempts } = await barePool.query('SELECT * FROM notification_attempts WHERE notification_id = ANY($1)', [
        rows.map((r) => r.id),
      ]);
      expect(attempts).toEqual([]);
      expect(mail.recipients).not.toContain(email);
      expect(smsesTo(phone)).toEqual([]);
    });
  });
});
