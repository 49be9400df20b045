import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import Redis from 'ioredis';
import { KeyObject } from 'node:crypto';
import { SIMULATOR_REDIS, SimulatorKeys } from './simulator-redis';
import { mpesaConfig, simulatorConfig } from '../../config/configuration';
import { DarajaReply, duplicateOriginatorConversationId, invalidAccessTokenFor, invalidField } from './daraja-errors';
import {
  checkB2cRequest,
  checkBalanceQuery,
  checkReversalRequest,
  checkStatusQuery,
  DecryptCredential,
  ExpectedInitiator,
  ValidB2c,
  ValidReversal,
  ValidStatusQuery,
} from './simulator-checks';
import { decryptSecurityCredential, loadSimulatorKey } from './simulator-credential';
import type { ProcessingVariant } from './simulator-faults';
import {
  b2cResponse,
  b2cResultPayload,
  balanceFailurePayload,
  balanceResultPayload,
  ConversationIds,
  customerPublicName,
  DarajaResult,
  DEFAULT_BALANCES,
  failureResultPayload,
  initiatorResponse,
  newConversationId,
  newOriginatorConversationId,
  organisationPublicName,
  placeholderTransactionId,
  queueTimeoutPayload,
  reversalResultPayload,
  SimulatedB2cPayment,
  SimulatedB2cSummary,
  SimulatedBalances,
  SimulatedReversal,
  SIMULATED_CUSTOMER_NAME,
  statusFailurePayload,
  statusResultPayload,
  StatusView,
  summarizeB2c,
} from './simulator-money-out-wire';
import {
  B2C_INSUFFICIENT_BALANCE_SCENARIO,
  B2C_QUEUE_TIMEOUT,
  B2C_RESULT_DESCRIPTIONS,
  B2C_WRONG_PASSWORD_SCENARIO,
  b2cScenarioFor,
  B2cScenario,
  REVERSAL_REFUSED_AMOUNT,
} from './simulator-scenarios';
import type { SimulatedStkTransaction } from './simulator-wire';
import { DarajaSimulatorService } from './simulator.service';

/**
 * OriginatorConversationIDs are remembered this long (Daraja rejects a reused one to stop a double payout), and
 * payouts, reversals and their receipts stay queryable as long.
 */
const MONEY_OUT_TTL_SECONDS = 3 * 24 * 60 * 60;

/** Safaricom's sandbox initiator password: the simulator default of MPESA_INITIATOR_PASSWORD. */
const DEFAULT_INITIATOR_PASSWORD = 'Safaricom999!*!';

const REVERSAL_ALREADY_DONE = { code: 'R000001', desc: 'The transaction has already been reversed.' } as const;
const REVERSAL_UNKNOWN = { code: 'R000002', desc: 'The OriginalTransactionID is invalid.' } as const;
/**
 * Transaction Status for a receipt or conversation id M-Pesa has no completed transaction for. Daraja documents
 * no answer for a B2C that exists but moved no money (insufficient funds, 2001, queue timeout before processing);
 * the simulator answers those exactly like an unknown id, with the code the EDL SDK lists (docs/daraja.md §8 end),
 * so that "not Completed" is the only thing an app may rely on.
 */
const STATUS_NOT_FOUND = {
  code: 2033,
  desc: 'The transaction receipt number cannot be found by the specified OriginatorConversationID or ConversationID.',
} as const;

/**
 * Atomically debits the Utility account if it holds enough. KEYS[1] = the balances hash; ARGV = amount, default
 * utility, default working (cents). Returns [1 paid | 0 insufficient, utility after, working].
 */
const DEBIT_UTILITY = `
local utility = tonumber(redis.call('HGET', KEYS[1], 'utility') or ARGV[2])
local working = redis.call('HGET', KEYS[1], 'working') or ARGV[3]
local amount = tonumber(ARGV[1])
if utility < amount then return {0, tostring(utility), working} end
utility = utility - amount
redis.call('HSET', KEYS[1], 'utility', tostring(utility))
return {1, tostring(utility), working}
`;

/**
 * The simulated money-out APIs: B2C (v1/v3), Account Balance, Reversal and Transaction Status. Like the STK part,
 * all state is in Redis; results go out through DarajaSimulatorService's callback sender (same switch, same stats).
 */
@Injectable()
export class SimulatorMoneyOutService {
  /** Read once at construction: a missing key stops the boot in simulator mode, naming the file. */
  private readonly privateKey: KeyObject = loadSimulatorKey();
  private readonly decrypt: DecryptCredential = (credential) => decryptSecurityCredential(this.privateKey, credential);

  constructor(
    @Inject(mpesaConfig.KEY) private readonly mpesa: ConfigType<typeof mpesaConfig>,
    @Inject(simulatorConfig.KEY) private readonly settings: ConfigType<typeof simulatorConfig>,
    @Inject(SIMULATOR_REDIS) private readonly redis: Redis,
    private readonly keys: SimulatorKeys,
    private readonly simulator: DarajaSimulatorService,
  ) {}

  // ---- Daraja endpoints ----

  /** `no_result`: on every endpoint here, processed and acknowledged as usual, but nothing is ever POSTed back. */
  async b2cPayment(
    version: 'v1' | 'v3',
    authorization: string | undefined,
    body: unknown,
    variant?: ProcessingVariant,
  ): Promise<DarajaReply> {
    if (!(await this.simulator.isTokenCurrent(authorization))) return invalidAccessTokenFor('b2c', authorization);
    const checked = checkB2cRequest(body, version, this.expected, this.decrypt);
    if (!checked.ok) return checked.reply;

    const now = new Date();
    const conversationId = newConversationId(now);
    const originatorConversationId = await this.claimOriginatorConversationId(checked.value.originatorConversationId, conversationId);
    if (!originatorConversationId) return duplicateOriginatorConversationId();

    const payment = await this.process({ originatorConversationId, conversationId }, version, checked.value, now, variant);
    await this.storePayment(payment);
    if (payment.paid && payment.receipt) await this.recordPayout(payment, payment.receipt);
    this.deliver(payment);
    return { status: 200, body: b2cResponse(payment) };
  }

  async accountBalance(authorization: string | undefined, body: unknown, variant?: ProcessingVariant): Promise<DarajaReply> {
    if (!(await this.simulator.isTokenCurrent(authorization))) return invalidAccessTokenFor('balance', authorization);
    const checked = checkBalanceQuery(body, this.expected, this.decrypt);
    if (!checked.ok) return checked.reply;

    const ids = await this.newConversation();
    // Read now rather than at delivery: the answer reflects the payouts accepted before the query.
    const payload = checked.value.initiatorValid
      ? balanceResultPayload(ids, await this.balances(), new Date())
      : balanceFailurePayload(ids, 2001, B2C_RESULT_DESCRIPTIONS[2001]);
    if (variant !== 'no_result') {
      this.simulator.schedulePost(`Account balance result ${ids.originatorConversationId}`, checked.value.resultUrl, payload, this.delayMs);
    }
    return { status: 200, body: initiatorResponse(ids, false) };
  }

  async reversal(authorization: string | undefined, body: unknown, variant?: ProcessingVariant): Promise<DarajaReply> {
    if (!(await this.simulator.isTokenCurrent(authorization))) return invalidAccessTokenFor('reversal', authorization);
    const checked = checkReversalRequest(body, this.expected, this.decrypt);
    if (!checked.ok) return checked.reply;
    // More than was paid cannot be reversed: refused before anything moves, in Daraja's field envelope (docs/simulator.md).
    const original = await this.completedStk(checked.value.transactionId, new Date());
    if (original && checked.value.amount > original.amount) return invalidField('Amount');

    const ids = await this.newConversation();
    const payload = await this.reverse(checked.value, ids, new Date());
    if (variant !== 'no_result') {
      this.simulator.schedulePost(`Reversal result ${ids.originatorConversationId}`, checked.value.resultUrl, payload, this.delayMs);
    }
    return { status: 200, body: initiatorResponse(ids) };
  }

  async transactionStatus(authorization: string | undefined, body: unknown, variant?: ProcessingVariant): Promise<DarajaReply> {
    if (!(await this.simulator.isTokenCurrent(authorization))) return invalidAccessTokenFor('transactionstatus', authorization);
    const checked = checkStatusQuery(body, this.expected, this.decrypt);
    if (!checked.ok) return checked.reply;

    const ids = await this.newConversation();
    const payload = await this.status(checked.value, ids, new Date());
    if (variant !== 'no_result') {
      this.simulator.schedulePost(
        `Transaction status result ${ids.originatorConversationId}`,
        checked.value.resultUrl,
        payload,
        this.delayMs,
      );
    }
    return { status: 200, body: initiatorResponse(ids) };
  }

  // ---- Test controls ----

  async findPayment(originatorConversationId: string): Promise<SimulatedB2cPayment | undefined> {
    const raw = await this.redis.get(this.paymentKey(originatorConversationId));
    return raw ? (JSON.parse(raw) as SimulatedB2cPayment) : undefined;
  }

  /** Every payout to the phone still in Redis, oldest first. */
  async paymentsForPhone(phone: string): Promise<SimulatedB2cSummary[]> {
    const ids = await this.redis.lrange(this.phoneKey(phone), 0, -1);
    if (ids.length === 0) return [];
    const rows = await this.redis.mget(ids.map((id) => this.paymentKey(id)));
    return rows.filter((row): row is string => row !== null).map((row) => summarizeB2c(JSON.parse(row) as SimulatedB2cPayment));
  }

  /** The reversal of an STK receipt, if one succeeded. */
  async reversalOf(receipt: string): Promise<SimulatedReversal | undefined> {
    const raw = await this.redis.get(this.reversalKey(receipt));
    const parsed = raw ? (JSON.parse(raw) as Partial<SimulatedReversal>) : undefined;
    return parsed?.reversalReceipt ? (parsed as SimulatedReversal) : undefined; // `{}` while one is in progress
  }

  async balances(): Promise<SimulatedBalances> {
    const [utility, working] = await this.redis.hmget(this.balancesKey, 'utility', 'working');
    return {
      utilityCents: utility === null ? DEFAULT_BALANCES.utilityCents : Number(utility),
      workingCents: working === null ? DEFAULT_BALANCES.workingCents : Number(working),
    };
  }

  /** KES amounts; `working` left out keeps its current value. */
  async setBalances(utility: number, working?: number): Promise<SimulatedBalances> {
    const fields: Record<string, string> = { utility: String(Math.round(utility * 100)) };
    if (working !== undefined) fields.working = String(Math.round(working * 100));
    await this.redis.hset(this.balancesKey, fields);
    return this.balances();
  }

  /** Back to DEFAULT_BALANCES (part of `POST /simulator/control/reset`). Payouts and reversals stay. */
  async resetBalances(): Promise<void> {
    await this.redis.del(this.balancesKey);
  }

  // ---- Internals ----

  private get expected(): ExpectedInitiator {
    // MpesaSettings is gaining initiatorPassword and b2cShortcode in a change made in parallel with this one; reading
    // them as optional keeps this file compiling before and after it, with the same simulator defaults it uses.
    const cfg = this.mpesa as ConfigType<typeof mpesaConfig> & { initiatorPassword?: string; b2cShortcode?: string };
    return {
      initiatorName: cfg.initiatorName ?? 'testapi',
      initiatorPassword: cfg.initiatorPassword ?? DEFAULT_INITIATOR_PASSWORD,
      b2cShortcode: cfg.b2cShortcode ?? cfg.shortcode,
      shortcode: cfg.shortcode,
    };
  }

  private get delayMs(): number {
    return this.settings.callbackDelayMs;
  }

  private async newConversation(): Promise<ConversationIds> {
    return {
      originatorConversationId: newOriginatorConversationId(await this.simulator.nextSequence()),
      conversationId: newConversationId(),
    };
  }

  /**
   * SET NX on the id is the cross-process referee that makes a reused v3 id a duplicate instead of a second payout.
   * v1 ids are generated here (a collision with a caller's v3 id just draws another). Undefined: duplicate.
   */
  private async claimOriginatorConversationId(given: string | undefined, conversationId: string): Promise<string | undefined> {
    const claim = async (id: string) =>
      (await this.redis.set(this.originatorIdKey(id), conversationId, 'EX', MONEY_OUT_TTL_SECONDS, 'NX')) === 'OK';
    if (given !== undefined) return (await claim(given)) ? given : undefined;
    for (;;) {
      const id = newOriginatorConversationId(await this.simulator.nextSequence());
      if (await claim(id)) return id;
    }
  }

  /** Decides the payout when it is accepted, moving the money if it is paid, so every later answer agrees. */
  private async process(
    ids: ConversationIds,
    version: 'v1' | 'v3',
    request: ValidB2c,
    now: Date,
    variant?: ProcessingVariant,
  ): Promise<SimulatedB2cPayment> {
    let scenario: B2cScenario = request.initiatorValid ? b2cScenarioFor(request.phone) : B2C_WRONG_PASSWORD_SCENARIO;
    let after: SimulatedBalances | undefined;
    if (scenario.paid) {
      after = await this.debitUtility(request.amount * 100);
      if (!after) scenario = B2C_INSUFFICIENT_BALANCE_SCENARIO;
    }
    // The `no_result` fault silences whichever URL the scenario would have called; what happened to the money stays.
    const delivery = variant === 'no_result' ? 'none' : scenario.delivery;
    // A failure result carries a TransactionID too (docs/daraja.md §5.3); a payout nobody hears of needs one only if paid.
    const transactionId =
      scenario.paid || delivery === 'result'
        ? await this.simulator.reserveReceipt(`b2c:${ids.originatorConversationId}`, MONEY_OUT_TTL_SECONDS)
        : undefined;
    const resultCode = scenario.resultCode ?? undefined;
    return {
      ...ids,
      version,
      commandId: request.commandId,
      amount: request.amount,
      partyA: request.partyA,
      phone: request.phone,
      remarks: request.remarks,
      occasion: request.occasion,
      resultUrl: request.resultUrl,
      queueTimeoutUrl: request.queueTimeoutUrl,
      outcome: scenario.outcome,
      paid: scenario.paid,
      delivery,
      resultCode,
      resultDesc: resultCode === undefined ? undefined : B2C_RESULT_DESCRIPTIONS[resultCode],
      transactionId,
      receipt: scenario.paid ? transactionId : undefined,
      receiverPhone: scenario.paid ? scenario.receiver : undefined,
      statusMisses: scenario.paid ? scenario.statusMisses : undefined,
      utilityAfterCents: after?.utilityCents,
      workingAfterCents: after?.workingCents,
      createdAt: now.toISOString(),
      completedAt: now.toISOString(),
    };
  }

  /** The balances after the debit, or undefined (and nothing debited) when the Utility account is short. */
  private async debitUtility(cents: number): Promise<SimulatedBalances | undefined> {
    const [paid, utility, working] = (await this.redis.eval(
      DEBIT_UTILITY,
      1,
      this.balancesKey,
      String(cents),
      String(DEFAULT_BALANCES.utilityCents),
      String(DEFAULT_BALANCES.workingCents),
    )) as [number, string, string];
    return paid === 1 ? { utilityCents: Number(utility), workingCents: Number(working) } : undefined;
  }

  private async storePayment(payment: SimulatedB2cPayment): Promise<void> {
    const id = payment.originatorConversationId;
    const phoneKey = this.phoneKey(payment.phone);
    await this.redis
      .multi()
      .set(this.paymentKey(id), JSON.stringify(payment), 'EX', MONEY_OUT_TTL_SECONDS)
      .set(this.conversationKey(payment.conversationId), id, 'EX', MONEY_OUT_TTL_SECONDS)
      .rpush(phoneKey, id)
      .expire(phoneKey, MONEY_OUT_TTL_SECONDS)
      .exec();
  }

  /** A paid payout is a withdrawal from the B2C shortcode, to whoever the money reached. */
  private async recordPayout(payment: SimulatedB2cPayment, receipt: string): Promise<void> {
    await this.simulator.ledger.add({
      id: receipt,
      receipt,
      kind: 'b2c',
      amount: payment.amount,
      completedAt: payment.completedAt,
      shortCode: payment.partyA,
      msisdn: payment.receiverPhone ?? payment.phone,
      name: SIMULATED_CUSTOMER_NAME,
      accountReference: null,
      transactionType: payment.commandId,
      origin: 'simulated',
    });
  }

  private deliver(payment: SimulatedB2cPayment): void {
    const id = payment.originatorConversationId;
    switch (payment.delivery) {
      case 'result':
        this.simulator.schedulePost(`B2C result ${id}`, payment.resultUrl, b2cResultPayload(payment), this.delayMs);
        return;
      case 'queue_timeout':
        this.simulator.schedulePost(
          `B2C queue timeout ${id}`,
          payment.queueTimeoutUrl,
          queueTimeoutPayload(payment, B2C_QUEUE_TIMEOUT),
          this.delayMs,
        );
        return;
      case 'none':
        return;
    }
  }

  /**
   * Reverses a completed STK payment once, by the requested Amount (at most the original, checked before the
   * acknowledgement; less is a partial reversal). It is debited from the simulated Utility account.
   */
  private async reverse(request: ValidReversal, ids: ConversationIds, now: Date): Promise<DarajaResult> {
    const fail = (code: number | string, desc: string) =>
      failureResultPayload(ids, code, desc, placeholderTransactionId(request.transactionId), 'reversalresults');
    if (!request.initiatorValid) return fail(2001, B2C_RESULT_DESCRIPTIONS[2001]);
    if (request.amount === REVERSAL_REFUSED_AMOUNT) return fail(REVERSAL_UNKNOWN.code, REVERSAL_UNKNOWN.desc);

    const payment = await this.completedStk(request.transactionId, now);
    if (!payment?.receipt) return fail(REVERSAL_UNKNOWN.code, REVERSAL_UNKNOWN.desc);
    const receipt = payment.receipt;

    // SET NX makes "reversed once" hold across processes; `{}` marks one in progress.
    const marker = this.reversalKey(receipt);
    if ((await this.redis.set(marker, '{}', 'EX', MONEY_OUT_TTL_SECONDS, 'NX')) !== 'OK') {
      return fail(REVERSAL_ALREADY_DONE.code, REVERSAL_ALREADY_DONE.desc);
    }
    const after = await this.debitUtility(request.amount * 100);
    if (!after) {
      await this.redis.del(marker);
      return fail(1, B2C_RESULT_DESCRIPTIONS[1]);
    }

    const reversal: SimulatedReversal = {
      originalReceipt: receipt,
      reversalReceipt: await this.simulator.reserveReceipt(`reversal:${receipt}`, MONEY_OUT_TTL_SECONDS),
      checkoutRequestId: payment.checkoutRequestId,
      amount: request.amount,
      phone: payment.phone,
      ...ids,
      utilityAfterCents: after.utilityCents,
      createdAt: now.toISOString(),
    };
    await this.redis
      .multi()
      .set(marker, JSON.stringify(reversal), 'EX', MONEY_OUT_TTL_SECONDS)
      // Transaction Status finds a reversal by the ids its acknowledgement gave, like a payout (docs/daraja.md §8).
      .set(this.reversalIdKey(ids.originatorConversationId), receipt, 'EX', MONEY_OUT_TTL_SECONDS)
      .set(this.reversalIdKey(ids.conversationId), receipt, 'EX', MONEY_OUT_TTL_SECONDS)
      .exec();
    // Money back to the customer out of the collection shortcode the payment reached: a withdrawal on its statement.
    await this.simulator.ledger.add({
      id: reversal.reversalReceipt,
      receipt: reversal.reversalReceipt,
      kind: 'reversal',
      amount: reversal.amount,
      completedAt: reversal.createdAt,
      shortCode: this.mpesa.shortcode,
      msisdn: reversal.phone,
      name: SIMULATED_CUSTOMER_NAME,
      accountReference: null,
      transactionType: 'TransactionReversal',
      originalReceipt: receipt,
      origin: 'simulated',
    });
    return reversalResultPayload(reversal, this.mpesa.shortcode);
  }

  /** An STK push whose receipt this is, that succeeded and has settled by `now`. */
  private async completedStk(receipt: string, now: Date): Promise<SimulatedStkTransaction | undefined> {
    const owner = await this.simulator.receiptOwner(receipt);
    if (!owner || owner.includes(':')) return undefined; // unknown, or another product's receipt
    const payment = await this.simulator.findTransaction(owner);
    return payment && this.isCompletedStk(payment, now) && payment.receipt === receipt ? payment : undefined;
  }

  private isCompletedStk(payment: SimulatedStkTransaction, now: Date): boolean {
    return payment.resultCode === 0 && payment.receipt !== undefined && Date.parse(payment.settlesAt) <= now.getTime();
  }

  /**
   * The first given id that names a completed transaction decides; none does: 2033 (see STATUS_NOT_FOUND). A payout
   * with `statusMisses` stays "not found" for that many queries that find it (counted once per query).
   */
  private async status(query: ValidStatusQuery, ids: ConversationIds, now: Date): Promise<DarajaResult> {
    if (!query.initiatorValid) return statusFailurePayload(ids, 2001, B2C_RESULT_DESCRIPTIONS[2001], query.occasion);
    for (const id of query.ids) {
      const found = await this.findCompleted(id, now);
      if (!found) continue;
      if (found.payout && (await this.stillHidden(found.payout))) break;
      return statusResultPayload(ids, found.view, query.occasion);
    }
    return statusFailurePayload(ids, STATUS_NOT_FOUND.code, STATUS_NOT_FOUND.desc, query.occasion);
  }

  /** Counts a Transaction Status query that found the payout; true while the count is within its `statusMisses`. */
  private async stillHidden(p: SimulatedB2cPayment): Promise<boolean> {
    if (!p.statusMisses) return false;
    const key = this.statusQueriesKey(p.originatorConversationId);
    const replies = await this.redis.multi().incr(key).expire(key, MONEY_OUT_TTL_SECONDS).exec();
    return Number(replies?.[0]?.[1]) <= p.statusMisses;
  }

  /**
   * Looks `id` up as a receipt (B2C, reversal or STK), a B2C or reversal OriginatorConversationID or ConversationID,
   * or a CheckoutRequestID. `payout` is set when the transaction found is a B2C payout.
   */
  private async findCompleted(id: string, now: Date): Promise<{ view: StatusView; payout?: SimulatedB2cPayment } | undefined> {
    const view = (v: StatusView | undefined) => (v ? { view: v } : undefined);
    const owner = /^[A-Za-z0-9]{10}$/.test(id) ? await this.simulator.receiptOwner(id.toUpperCase()) : undefined;
    if (owner?.startsWith('b2c:')) return this.b2cFound(await this.findPayment(owner.slice('b2c:'.length)));
    if (owner?.startsWith('reversal:')) return view(this.reversalView(await this.reversalOf(owner.slice('reversal:'.length))));
    if (owner) return view(this.stkView(await this.simulator.findTransaction(owner), now));

    const byOriginatorId = await this.findPayment(id);
    if (byOriginatorId) return this.b2cFound(byOriginatorId);
    const originatorId = await this.redis.get(this.conversationKey(id));
    if (originatorId) return this.b2cFound(await this.findPayment(originatorId));
    const reversedReceipt = await this.redis.get(this.reversalIdKey(id));
    if (reversedReceipt) return view(this.reversalView(await this.reversalOf(reversedReceipt)));
    return view(this.stkView(await this.simulator.findTransaction(id), now));
  }

  private b2cFound(p: SimulatedB2cPayment | undefined): { view: StatusView; payout: SimulatedB2cPayment } | undefined {
    const view = this.b2cView(p);
    return p && view ? { view, payout: p } : undefined;
  }

  private b2cView(p: SimulatedB2cPayment | undefined): StatusView | undefined {
    if (!p?.paid || !p.receipt) return undefined;
    return {
      receipt: p.receipt,
      amount: p.amount,
      debitPartyName: organisationPublicName(p.partyA),
      creditPartyName: customerPublicName(p.receiverPhone ?? p.phone),
      originatorConversationId: p.originatorConversationId,
      conversationId: p.conversationId,
      initiatedAt: new Date(p.createdAt),
      finalisedAt: new Date(p.completedAt),
      reasonType: B2C_REASON_TYPES[p.commandId] ?? B2C_REASON_TYPES.BusinessPayment,
      debitAccountType: 'Utility Account',
    };
  }

  private reversalView(r: SimulatedReversal | undefined): StatusView | undefined {
    if (!r) return undefined;
    return {
      receipt: r.reversalReceipt,
      amount: r.amount,
      debitPartyName: organisationPublicName(this.mpesa.shortcode),
      creditPartyName: customerPublicName(r.phone),
      originatorConversationId: r.originatorConversationId,
      conversationId: r.conversationId,
      initiatedAt: new Date(r.createdAt),
      finalisedAt: new Date(r.createdAt),
      reasonType: 'Reversal',
      debitAccountType: 'Utility Account',
    };
  }

  /** Daraja has no conversation ids for STK; the MerchantRequestID and CheckoutRequestID stand in for them. */
  private stkView(t: SimulatedStkTransaction | undefined, now: Date): StatusView | undefined {
    if (!t?.receipt || !this.isCompletedStk(t, now)) return undefined;
    return {
      receipt: t.receipt,
      amount: t.amount,
      debitPartyName: customerPublicName(t.phone),
      creditPartyName: organisationPublicName(this.mpesa.shortcode),
      originatorConversationId: t.merchantRequestId,
      conversationId: t.checkoutRequestId,
      initiatedAt: new Date(t.createdAt),
      finalisedAt: new Date(t.settlesAt),
      reasonType: t.transactionType === 'CustomerBuyGoodsOnline' ? 'Buy Goods Online' : 'Pay Bill Online',
      debitAccountType: 'MMF Account', // the customer's M-PESA wallet; undocumented here, our choice
    };
  }

  private get balancesKey() {
    return this.keys.key('sim', 'balances');
  }
  private originatorIdKey(originatorConversationId: string) {
    return this.keys.key('sim', 'b2c-originator-id', originatorConversationId);
  }
  private paymentKey(originatorConversationId: string) {
    return this.keys.key('sim', 'b2c', originatorConversationId);
  }
  private conversationKey(conversationId: string) {
    return this.keys.key('sim', 'b2c-conversation', conversationId);
  }
  private phoneKey(phone: string) {
    return this.keys.key('sim', 'b2c-phone', phone);
  }
  private reversalKey(receipt: string) {
    return this.keys.key('sim', 'reversal', receipt);
  }
  /** A reversal's OriginatorConversationID or ConversationID -> the original receipt (reversalKey's suffix). */
  private reversalIdKey(id: string) {
    return this.keys.key('sim', 'reversal-id', id);
  }
  private statusQueriesKey(originatorConversationId: string) {
    return this.keys.key('sim', 'b2c-status-queries', originatorConversationId);
  }
}

/**
 * Transaction Status's ReasonType per B2C CommandID. Only the first appears in Daraja's docs (docs/daraja.md §8);
 * the other two are the simulator's guess in the same style. Apps should not branch on them.
 */
const B2C_REASON_TYPES: Record<string, string> = {
  BusinessPayment: 'Business Payment to Customer via API',
  SalaryPayment: 'Salary Payment via API',
  PromotionPayment: 'Promotion Payment via API',
};
