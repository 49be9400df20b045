import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import type { FastifyRequest } from 'fastify';
import Redis from 'ioredis';
import { SimulatorRecorder } from './simulator-recorder';
import { SIMULATOR_REDIS, SimulatorKeys } from './simulator-redis';
import { mpesaConfig, simulatorConfig } from '../../config/configuration';
import { darajaTimestamp } from '../daraja-time';
import {
  DarajaReply,
  internalServerError,
  invalidAccessToken,
  invalidAuthentication,
  invalidCredentials,
  invalidField,
  invalidGrantType,
  subscriberLocked,
  transactionBeingProcessed,
} from './daraja-errors';
import {
  bearerToken,
  checkCheckoutRequestId,
  checkMerchantSecurity,
  checkStkPushFields,
  ExpectedMerchant,
  parseBasicAuth,
  ValidStkPush,
} from './simulator-checks';
import { ProcessingVariant, SIMULATED_ENDPOINTS, SimulatedEndpoint, SimulatorFault } from './simulator-faults';
import { LEDGER_CUSTOMER_NAME, SimulatorLedger } from './simulator-ledger';
import { callbackDelaysMs, settleDelayMs, STK_RESULT_DESCRIPTIONS, stkScenarioFor, StkScenario } from './simulator-scenarios';
import {
  newAccessToken,
  newCheckoutRequestId,
  newMerchantRequestId,
  newReceiptNumber,
  OAuthTokenResponse,
  SimulatedStkSummary,
  SimulatedStkTransaction,
  stkCallbackPayload,
  STK_QUERY_ACCEPTED,
  stkPushResponse,
  StkQueryResponse,
  stkQueryResponse,
  summarize,
} from './simulator-wire';

/** Pushes stay queryable (and listed per phone) for a day, like a day of Daraja history is enough for any test. */
const TRANSACTION_TTL_SECONDS = 24 * 60 * 60;
/** Daraja gives a callback URL no second chance; neither do we. */
const CALLBACK_TIMEOUT_MS = 10_000;
/** The call log keeps the latest arrivals only: enough for a test's burst, bounded under the bench. */
const CALL_LOG_LENGTH = 1_000;

// KEYS: stats hash, the endpoint's fault queue, the call log. ARGV: stats field, endpoint, arrival ms, log length.
const BEGIN_CALL_SCRIPT = `
redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
local fault = redis.call('LPOP', KEYS[2])
local kind = false
if fault then kind = cjson.decode(fault)['kind'] end
redis.call('RPUSH', KEYS[3], cjson.encode({endpoint = ARGV[2], at = tonumber(ARGV[3]), fault = kind or cjson.null}))
redis.call('LTRIM', KEYS[3], -tonumber(ARGV[4]), -1)
return fault`;

/** Told of every successful STK push when it is accepted (the C2B part sends confirmations for them when asked to). */
export type StkAcceptedListener = (transaction: SimulatedStkTransaction, settleMs: number) => Promise<void>;

/** What a POST that waits for its answer got (C2B validation); `failure` says why there is no usable answer. */
export interface PostAnswer {
  status?: number;
  /** The parsed JSON, or the text when it is not JSON. */
  body?: unknown;
  failure?: string;
}

/** One request as Daraja saw it arrive: which endpoint, when (ms since the epoch), and the fault it got, if any. */
export interface SimulatedCall {
  endpoint: SimulatedEndpoint;
  at: number;
  fault: string | null;
}

export interface SimulatorStats {
  /** Every request that reached the endpoint, faulted or not. */
  calls: Record<SimulatedEndpoint, number>;
  /** `sent`: callback POSTs attempted; `failed`: those that got no 2xx (network error, timeout or HTTP error). */
  callbacks: { sent: number; failed: number };
}

/** STK callbacks can be switched off on their own (see setCallbacksEnabled); every other callback is `other`. */
type CallbackKind = 'stk' | 'other';
const ALL_CALLBACKS_OFF = '1';

/**
 * The embedded Daraja's state and behaviour. Everything lives in Redis so that any app process can answer any
 * request (a push accepted by one process is queryable through another); the only per-process state is the
 * timers that deliver callbacks.
 */
@Injectable()
export class DarajaSimulatorService implements OnApplicationShutdown {
  private readonly logger = new Logger(DarajaSimulatorService.name);
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly stkListeners: StkAcceptedListener[] = [];
  private readonly resetHooks: (() => Promise<void>)[] = [];
  /** Every payment, payout and reversal the simulator completed: what Pull and the statement read. */
  readonly ledger: SimulatorLedger;

  constructor(
    @Inject(mpesaConfig.KEY) private readonly mpesa: ConfigType<typeof mpesaConfig>,
    @Inject(simulatorConfig.KEY) private readonly settings: ConfigType<typeof simulatorConfig>,
    @Inject(SIMULATOR_REDIS) private readonly redis: Redis,
    private readonly keys: SimulatorKeys,
    private readonly recorder: SimulatorRecorder,
  ) {
    if (!('simulatorBeginCall' in redis)) redis.defineCommand('simulatorBeginCall', { numberOfKeys: 3, lua: BEGIN_CALL_SCRIPT });
    this.ledger = new SimulatorLedger(redis, keys);
  }

  // ---- Daraja endpoints ----

  /**
   * Counts the call, takes the next queued fault for the endpoint and logs the arrival in one atomic round trip
   * (the log is shared by every process on the Redis prefix, so tests see the fleet's calls in arrival order).
   */
  async beginCall(endpoint: SimulatedEndpoint): Promise<SimulatorFault | undefined> {
    const raw = (await (
      this.redis as Redis & { simulatorBeginCall: (...args: (string | number)[]) => Promise<string | null> }
    ).simulatorBeginCall(
      this.statsKey,
      this.faultsKey(endpoint),
      this.callLogKey,
      `calls:${endpoint}`,
      endpoint,
      Date.now(),
      CALL_LOG_LENGTH,
    )) as string | null;
    return typeof raw === 'string' ? (JSON.parse(raw) as SimulatorFault) : undefined;
  }

  /** Journals the request and the answer (undefined: dropped); the call itself was counted by beginCall. */
  async endCall(endpoint: SimulatedEndpoint | 'unrouted', request: FastifyRequest, answer: DarajaReply | undefined): Promise<void> {
    await this.recorder.add({
      kind: 'call',
      at: new Date().toISOString(),
      endpoint,
      method: request.method,
      path: (request.originalUrl ?? request.url).split('?')[0],
      request: request.body ?? null,
      answer: answer ? { status: answer.status, ...(answer.body === undefined ? {} : { body: answer.body }) } : { status: 0 },
    });
  }

  async issueToken(grantType: unknown, authorization: string | undefined): Promise<DarajaReply> {
    if (grantType !== 'client_credentials') return invalidGrantType();
    const auth = parseBasicAuth(authorization);
    if (auth.kind === 'not_basic') return invalidAuthentication();
    if (auth.kind === 'malformed' || auth.key !== this.mpesa.consumerKey || auth.secret !== this.mpesa.consumerSecret) {
      return invalidCredentials();
    }

    const token = newAccessToken();
    const ttl = this.settings.tokenTtlSeconds;
    // One key, overwritten: a new token supersedes the previous one, as Daraja's FAQ says (docs/daraja.md §1.3).
    await this.redis.set(this.tokenKey, token, 'EX', ttl);
    const body: OAuthTokenResponse = { access_token: token, expires_in: String(ttl) };
    return { status: 200, body };
  }

  async stkPush(authorization: string | undefined, body: unknown): Promise<DarajaReply> {
    if (!(await this.isTokenCurrent(authorization))) return invalidAccessToken();
    const now = new Date();
    const security = this.checkSecurity('STK push', body, now);
    if (!security.ok) return security.reply;
    const fields = checkStkPushFields(body, this.expectedMerchant);
    if (!fields.ok) return fields.reply;

    const request = fields.value;
    const scenario = stkScenarioFor(request.phone);
    const settleMs = settleDelayMs(scenario, this.settings);
    let checkoutRequestId = newCheckoutRequestId(now);
    // SET NX is the cross-process referee; it expires when the push settles. PX must be > 0.
    const locked = await this.redis.set(this.lockKey(request.phone), checkoutRequestId, 'PX', Math.max(1, settleMs), 'NX');
    if (locked !== 'OK') return subscriberLocked();

    const transaction = await this.newTransaction(checkoutRequestId, request, scenario, now, settleMs);
    while (!(await this.store(transaction))) {
      checkoutRequestId = newCheckoutRequestId(now); // an id collision: astronomically rare, but never overwrite
      transaction.checkoutRequestId = checkoutRequestId;
    }
    if (transaction.receipt) await this.recordStkPayment(transaction, settleMs);

    // This scenario exists to test the app's callback-before-acknowledgement race, so the callback is awaited.
    const label = `STK callback ${transaction.checkoutRequestId}`;
    if (scenario.callbacks === 'before_response') {
      await this.postCallback(label, transaction.callbackUrl, stkCallbackPayload(transaction), 'stk');
    }
    for (const delay of callbackDelaysMs(scenario, this.settings)) {
      this.schedulePost(label, transaction.callbackUrl, stkCallbackPayload(transaction), delay, 'stk');
    }

    // Processed in full (the lock holds, the callback is on its way), yet the caller hears a 5xx.
    if (scenario.response === 'internal_error') return internalServerError();
    return { status: 200, body: stkPushResponse(transaction) };
  }

  /** `other_checkout`: after the usual checks, a settled success that names another push (see otherCheckoutAnswer). */
  async stkQuery(authorization: string | undefined, body: unknown, variant?: ProcessingVariant): Promise<DarajaReply> {
    if (!(await this.isTokenCurrent(authorization))) return invalidAccessToken();
    const security = this.checkSecurity('STK query', body, new Date());
    if (!security.ok) return security.reply;
    const id = checkCheckoutRequestId(body);
    if (!id.ok) return id.reply;
    if (variant === 'other_checkout') return this.otherCheckoutAnswer(id.value);

    const transaction = await this.findTransaction(id.value);
    if (!transaction) return invalidField('CheckoutRequestID');
    if (Date.parse(transaction.settlesAt) > Date.now()) return transactionBeingProcessed(transaction.checkoutRequestId);
    return { status: 200, body: stkQueryResponse(transaction) };
  }

  // ---- Test controls ----

  async queueFaults(endpoint: SimulatedEndpoint, fault: SimulatorFault, count: number): Promise<number> {
    const entry = JSON.stringify(fault);
    return this.redis.rpush(this.faultsKey(endpoint), ...Array.from({ length: count }, () => entry));
  }

  /** The latest calls in arrival order (at most CALL_LOG_LENGTH). */
  async calls(): Promise<SimulatedCall[]> {
    return (await this.redis.lrange(this.callLogKey, 0, -1)).map((entry) => JSON.parse(entry) as SimulatedCall);
  }

  async stats(): Promise<SimulatorStats> {
    const raw = await this.redis.hgetall(this.statsKey);
    const n = (field: string) => Number(raw[field] ?? 0);
    return {
      calls: Object.fromEntries(SIMULATED_ENDPOINTS.map((e) => [e, n(`calls:${e}`)])) as SimulatorStats['calls'],
      callbacks: { sent: n('callbacks:sent'), failed: n('callbacks:failed') },
    };
  }

  async findTransaction(checkoutRequestId: string): Promise<SimulatedStkTransaction | undefined> {
    const raw = await this.redis.get(this.transactionKey(checkoutRequestId));
    return raw ? (JSON.parse(raw) as SimulatedStkTransaction) : undefined;
  }

  /** Every push to the phone still in Redis, oldest first. */
  async transactionsForPhone(phone: string): Promise<SimulatedStkSummary[]> {
    const ids = await this.redis.lrange(this.phoneKey(phone), 0, -1);
    if (ids.length === 0) return [];
    const rows = await this.redis.mget(ids.map((id) => this.transactionKey(id)));
    return rows.filter((row): row is string => row !== null).map((row) => summarize(JSON.parse(row) as SimulatedStkTransaction));
  }

  async revokeTokens(): Promise<void> {
    await this.redis.del(this.tokenKey);
  }

  /** `only: 'stk'` switches off STK callbacks alone (a test that posts its own, while refunds still get results). */
  async setCallbacksEnabled(enabled: boolean, only?: 'stk'): Promise<void> {
    // Stored as "disabled" so that a missing key (fresh Redis, after reset) means the default: enabled.
    if (enabled) await this.redis.del(this.callbacksDisabledKey);
    else await this.redis.set(this.callbacksDisabledKey, only ?? ALL_CALLBACKS_OFF);
  }

  /** Whether a callback of this kind is switched off now (read at delivery time). */
  private async callbacksOff(kind: CallbackKind): Promise<boolean> {
    const off = await this.redis.get(this.callbacksDisabledKey);
    return off === ALL_CALLBACKS_OFF || (off !== null && off === kind);
  }

  /** `reset` also runs `hook`: the C2B and Pull parts put their switches back to the defaults this way. */
  onReset(hook: () => Promise<void>): void {
    this.resetHooks.push(hook);
  }

  /**
   * Clears stats, faults, subscriber locks, the journal and the callbacks switch (and whatever the reset hooks clear). Tokens,
   * stored transactions, registrations and the ledger stay.
   */
  async reset(): Promise<void> {
    for (const hook of this.resetHooks) await hook();
    await this.recorder.clearJournal();
    const locks: string[] = [];
    const stream = this.redis.scanStream({ match: this.lockKey('*'), count: 500 });
    for await (const batch of stream) locks.push(...(batch as string[]));
    await this.redis.del(
      this.statsKey,
      this.callLogKey,
      this.callbacksDisabledKey,
      ...SIMULATED_ENDPOINTS.map((e) => this.faultsKey(e)),
      ...locks,
    );
  }

  /** Pending callbacks die with the process, as they would if Daraja lost them; this lets shutdown finish now. */
  onApplicationShutdown(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }

  // ---- Shared with the money-out endpoints (simulator-money-out.service.ts) ----

  async isTokenCurrent(authorization: string | undefined): Promise<boolean> {
    const token = bearerToken(authorization);
    return token !== undefined && (await this.redis.get(this.tokenKey)) === token;
  }

  /** A cluster-wide counter that makes generated Daraja ids unique. */
  nextSequence(): Promise<number> {
    return this.redis.incr(this.keys.key('sim', 'sequence'));
  }

  /**
   * Reserves a fresh M-Pesa receipt in the one index shared by every product, so receipts are unique across STK,
   * B2C and reversals (the app may hold a unique constraint on them). `owner` says whose it is: an STK
   * CheckoutRequestID as is, other products with a `<product>:` prefix (see `receiptOwner`).
   */
  async reserveReceipt(owner: string, ttlSeconds = TRANSACTION_TTL_SECONDS): Promise<string> {
    for (;;) {
      const receipt = newReceiptNumber();
      const reserved = await this.redis.set(this.receiptKey(receipt), owner, 'EX', ttlSeconds, 'NX');
      if (reserved === 'OK') return receipt;
    }
  }

  /** Whatever `reserveReceipt` stored for the receipt, if it is still known. */
  async receiptOwner(receipt: string): Promise<string | undefined> {
    return (await this.redis.get(this.receiptKey(receipt))) ?? undefined;
  }

  /** POSTs `payload` to `url` after `delayMs`, from this process; lost if the process stops first, as Daraja may lose one. */
  schedulePost(label: string, url: string, payload: unknown, delayMs: number, kind: CallbackKind = 'other'): void {
    this.scheduleTask(label, delayMs, () => this.postCallback(label, url, payload, kind));
  }

  /**
   * Runs `task` after `delayMs` from this process (lost if it stops first, like a scheduled callback). A failure is
   * logged: it runs from a timer, where a rejection would crash the process.
   */
  scheduleTask(label: string, delayMs: number, task: () => Promise<void>): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      task().catch((error: unknown) => this.logger.warn(`${label} failed: ${describe(error)}`));
    }, delayMs);
    this.timers.add(timer);
  }

  /** Called for every successful push once it is stored, in the order registered. */
  onStkAccepted(listener: StkAcceptedListener): void {
    this.stkListeners.push(listener);
  }

  /**
   * One POST that waits up to `timeoutMs` for the answer (C2B validation). Honours the callbacks switch (switched off:
   * not sent, a `failure`) and counts into the callback stats like postCallback. Never throws.
   */
  async postForAnswer(label: string, url: string, payload: unknown, timeoutMs: number): Promise<PostAnswer> {
    try {
      if (await this.callbacksOff('other')) return { failure: 'callbacks are switched off' };
    } catch (error) {
      return { failure: `Redis unavailable (${describe(error)})` };
    }
    let answer: PostAnswer;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(timeoutMs),
      });
      const text = await response.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON: kept as text, which M-Pesa cannot read as an answer.
      }
      answer = response.ok ? { status: response.status, body } : { status: response.status, body, failure: `HTTP ${response.status}` };
    } catch (error) {
      answer = { failure: describe(error) };
    }
    if (answer.failure) this.logger.warn(`${label} to ${redactUrl(url)} failed: ${answer.failure}`);
    await this.countCallback(!answer.failure);
    await this.recorder.add({ kind: 'callback', at: new Date().toISOString(), label, url, payload, answer });
    return answer;
  }

  /**
   * One POST, no retry (Daraja does not retry). Never throws: it runs from timers, where a rejection would crash.
   * Honours the callbacks switch and counts into the callback stats.
   */
  async postCallback(label: string, url: string, payload: unknown, kind: CallbackKind = 'other'): Promise<void> {
    const target = redactUrl(url);
    try {
      // Checked at delivery time so that switching callbacks off also silences the ones already scheduled.
      if (await this.callbacksOff(kind)) return;
    } catch (error) {
      this.logger.warn(`${label} skipped: Redis unavailable (${describe(error)})`);
      return;
    }

    let failure: string | undefined;
    let status: number | undefined;
    let answerText = '';
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(CALLBACK_TIMEOUT_MS),
      });
      status = response.status;
      answerText = await response.text(); // read in full, so the connection goes back to the pool
      if (!response.ok) failure = `HTTP ${response.status}`;
    } catch (error) {
      failure = describe(error);
    }

    if (failure) this.logger.warn(`${label} to ${target} failed: ${failure}`);
    else this.logger.debug(`${label} delivered to ${target}`);
    await this.countCallback(!failure);
    const answer = { ...(status === undefined ? {} : { status, body: parsedOrText(answerText) }), ...(failure ? { failure } : {}) };
    await this.recorder.add({ kind: 'callback', at: new Date().toISOString(), label, url, payload, answer });
  }

  private async countCallback(delivered: boolean): Promise<void> {
    try {
      const tx = this.redis.multi().hincrby(this.statsKey, 'callbacks:sent', 1);
      if (!delivered) tx.hincrby(this.statsKey, 'callbacks:failed', 1);
      await tx.exec();
    } catch (error) {
      this.logger.warn(`Simulator stats not updated: ${describe(error)}`);
    }
  }

  // ---- Internals ----

  /**
   * A successful push is M-Pesa's money from the moment it settles: the ledger gets it now, dated at the settlement
   * (Pull and the statement only show rows completed by the time they are asked), then the listeners hear of it.
   */
  private async recordStkPayment(transaction: SimulatedStkTransaction, settleMs: number): Promise<void> {
    const partyB = this.mpesa.partyB && this.mpesa.partyB !== this.mpesa.shortcode ? this.mpesa.partyB : undefined;
    await this.ledger.add({
      id: transaction.receipt as string,
      receipt: transaction.receipt as string,
      kind: 'stk',
      amount: transaction.amount,
      completedAt: transaction.settlesAt,
      shortCode: this.mpesa.shortcode,
      ...(partyB ? { partyB } : {}),
      msisdn: transaction.phone,
      name: LEDGER_CUSTOMER_NAME,
      accountReference: transaction.accountReference,
      transactionType: transaction.transactionType,
      origin: 'simulated',
    });
    for (const listener of this.stkListeners) {
      try {
        await listener(transaction, settleMs);
      } catch (error) {
        // The push itself is done: a listener's trouble (a C2B confirmation not scheduled) must not fail it.
        this.logger.warn(`STK push ${transaction.checkoutRequestId}: listener failed: ${describe(error)}`);
      }
    }
  }

  /**
   * A well-formed STK Query success (ResultCode "0") whose MerchantRequestID and CheckoutRequestID are fresh ids that
   * name no push at all, so a client that does not check the id it asked about settles the wrong payment.
   */
  private async otherCheckoutAnswer(askedAbout: string): Promise<DarajaReply> {
    let checkoutRequestId = newCheckoutRequestId();
    while (checkoutRequestId === askedAbout) checkoutRequestId = newCheckoutRequestId();
    const body: StkQueryResponse = {
      ResponseCode: '0',
      ResponseDescription: STK_QUERY_ACCEPTED,
      MerchantRequestID: newMerchantRequestId(await this.nextSequence()),
      CheckoutRequestID: checkoutRequestId,
      ResultCode: '0',
      ResultDesc: STK_RESULT_DESCRIPTIONS[0],
    };
    return { status: 200, body };
  }

  /** Daraja's merchant checks; in lenient mode, says which clock a Timestamp that was not Kenya time came from. */
  private checkSecurity(what: string, body: unknown, now: Date): ReturnType<typeof checkMerchantSecurity> {
    const checked = checkMerchantSecurity(body, this.expectedMerchant, now, this.settings.timestamp);
    if (checked.ok && checked.value.zone !== 'kenya') {
      this.logger.log(`${what}: Timestamp ${checked.value.timestamp} read as ${checked.value.zone} time (SIMULATOR_TIMESTAMP=lenient)`);
    }
    return checked;
  }

  private get expectedMerchant(): ExpectedMerchant {
    return { shortcode: this.mpesa.shortcode, passkey: this.mpesa.passkey, partyB: this.mpesa.partyB };
  }

  private async newTransaction(
    checkoutRequestId: string,
    request: ValidStkPush,
    scenario: StkScenario,
    now: Date,
    settleMs: number,
  ): Promise<SimulatedStkTransaction> {
    const settlesAt = new Date(now.getTime() + settleMs);
    const success = scenario.resultCode === 0;
    const sequence = await this.nextSequence();
    return {
      checkoutRequestId,
      merchantRequestId: newMerchantRequestId(sequence),
      phone: request.phone,
      partyA: request.partyA,
      amount: request.amount,
      callbackUrl: request.callbackUrl,
      accountReference: request.accountReference,
      transactionDesc: request.transactionDesc,
      transactionType: request.transactionType,
      outcome: scenario.outcome,
      createdAt: now.toISOString(),
      settlesAt: settlesAt.toISOString(),
      resultCode: scenario.resultCode,
      resultDesc: STK_RESULT_DESCRIPTIONS[scenario.resultCode],
      // Decided now so that every delivery and every query tells the same story.
      receipt: success ? await this.reserveReceipt(checkoutRequestId) : undefined,
      transactionDate: success ? darajaTimestamp(settlesAt) : undefined,
    };
  }

  /** False when the CheckoutRequestID is already taken. */
  private async store(transaction: SimulatedStkTransaction): Promise<boolean> {
    const key = this.transactionKey(transaction.checkoutRequestId);
    const stored = await this.redis.set(key, JSON.stringify(transaction), 'EX', TRANSACTION_TTL_SECONDS, 'NX');
    if (stored !== 'OK') return false;
    const phoneKey = this.phoneKey(transaction.phone);
    await this.redis.multi().rpush(phoneKey, transaction.checkoutRequestId).expire(phoneKey, TRANSACTION_TTL_SECONDS).exec();
    return true;
  }

  private get tokenKey() {
    return this.keys.key('sim', 'oauth', 'token');
  }
  private get statsKey() {
    return this.keys.key('sim', 'stats');
  }
  private get callLogKey() {
    return this.keys.key('sim', 'calls');
  }
  private get callbacksDisabledKey() {
    return this.keys.key('sim', 'callbacks-disabled');
  }
  private receiptKey(receipt: string) {
    return this.keys.key('sim', 'receipt', receipt);
  }
  private faultsKey(endpoint: SimulatedEndpoint) {
    return this.keys.key('sim', 'faults', endpoint);
  }
  private lockKey(phone: string) {
    return this.keys.key('sim', 'lock', phone);
  }
  private transactionKey(checkoutRequestId: string) {
    return this.keys.key('sim', 'stk', checkoutRequestId);
  }
  private phoneKey(phone: string) {
    return this.keys.key('sim', 'stk-phone', phone);
  }
}

/** The app's callback URLs may carry a secret in the query string: log origin and path only. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '<invalid url>';
  }
}

/** A callback's answer as JSON when it is JSON, else its first 500 characters of text. */
function parsedOrText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text.slice(0, 500);
  }
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as Error & { cause?: unknown }).cause;
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message;
  }
  return String(error);
}
