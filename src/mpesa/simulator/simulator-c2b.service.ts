import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import Redis from 'ioredis';
import { SIMULATOR_REDIS, SimulatorKeys } from './simulator-redis';
import { mpesaConfig, simulatorConfig } from '../../config/configuration';
import { alreadyRegistered, DarajaReply, invalidAccessTokenFor } from './daraja-errors';
import { checkC2bRegister, checkC2bSimulate } from './simulator-c2b-checks';
import {
  c2bCallbackBody,
  C2bCallbackFacts,
  C2bRegistration,
  C2bValidation,
  newC2bV1OriginatorId,
  newC2bV2OriginatorId,
  readValidationAnswer,
  registerUrlResponse,
  SimulatedC2bPayment,
  simulateResponse,
} from './simulator-c2b-wire';
import type { ProcessingVariant } from './simulator-faults';
import { LEDGER_CUSTOMER_NAME, MSISDN_FORMATS, MsisdnFormat } from './simulator-ledger';
import { newConversationId } from './simulator-money-out-wire';
import { c2bConfirmationDelaysMs, c2bScenarioFor } from './simulator-scenarios';
import type { SimulatedStkTransaction } from './simulator-wire';
import { DarajaSimulatorService } from './simulator.service';

/** Simulated C2B payments stay queryable through the control API this long. */
const C2B_TTL_SECONDS = 3 * 24 * 60 * 60;
/** M-Pesa waits "usually < 8 seconds" for the validation answer, then applies the ResponseType (docs/daraja.md §9.4). */
export const VALIDATION_TIMEOUT_MS = 8_000;

/** The C2B control switches (`POST /simulator/control/c2b`). */
export interface C2bSwitches {
  /** Completed STK pushes also send a C2B confirmation with the same receipt (docs/daraja.md §9.10). Off by default. */
  stkConfirmations: boolean;
  /** When that confirmation is sent, relative to the push's settlement (its STK callback); negative: before it. */
  stkConfirmationDelayMs: number;
  /** External validation: the registered ValidationURL is asked before each simulated payment. On by default. */
  validation: boolean;
  /** `production`: a second Register URL for a shortcode answers "Urls are already registered." (§9.2, §9.3). */
  registration: 'sandbox' | 'production';
  /** How callbacks and Pull show the payer's number. */
  msisdnFormat: MsisdnFormat;
}

export const DEFAULT_C2B_SWITCHES: C2bSwitches = {
  stkConfirmations: false,
  stkConfirmationDelayMs: 0,
  validation: true,
  registration: 'sandbox',
  msisdnFormat: 'masked',
};

/**
 * C2B as the sandbox offers it: Register URL (v1/v2) and Simulate (v1/v2), which runs validation (when registered and
 * switched on) and confirmation against the registered URLs, and puts the payment in the ledger. Its state is in
 * Redis; the validation and confirmation POSTs are timers of the process that accepted the simulate call.
 */
@Injectable()
export class SimulatorC2bService {
  constructor(
    @Inject(mpesaConfig.KEY) private readonly mpesa: ConfigType<typeof mpesaConfig>,
    @Inject(simulatorConfig.KEY) private readonly settings: ConfigType<typeof simulatorConfig>,
    @Inject(SIMULATOR_REDIS) private readonly redis: Redis,
    private readonly keys: SimulatorKeys,
    private readonly simulator: DarajaSimulatorService,
  ) {
    simulator.onStkAccepted((transaction, settleMs) => this.confirmStkPayment(transaction, settleMs));
    simulator.onReset(() => this.resetSwitches());
  }

  // ---- Daraja endpoints ----

  async registerUrls(version: 'v1' | 'v2', authorization: string | undefined, body: unknown): Promise<DarajaReply> {
    if (!(await this.simulator.isTokenCurrent(authorization))) return invalidAccessTokenFor('c2bregister');
    const checked = checkC2bRegister(body);
    if (!checked.ok) return checked.reply;

    const registration: C2bRegistration = { ...checked.value, version, registeredAt: new Date().toISOString() };
    const json = JSON.stringify(registration);
    if ((await this.switches()).registration === 'production') {
      // HSETNX: one registration per shortcode across every process, as production allows.
      if ((await this.redis.hsetnx(this.urlsKey, registration.shortCode, json)) === 0) return alreadyRegistered();
    } else {
      // The sandbox lets anyone re-register as often as needed (docs/daraja.md §9.3): the last one wins.
      await this.redis.hset(this.urlsKey, registration.shortCode, json);
    }
    return { status: 200, body: registerUrlResponse(version, await this.newOriginatorId(version)) };
  }

  /**
   * Acknowledges at once; the payment completes (or is cancelled by validation) SIMULATOR_CALLBACK_DELAY_MS later.
   * `no_result`: it completes without validation or confirmation, as with no URLs registered.
   */
  async simulate(
    version: 'v1' | 'v2',
    authorization: string | undefined,
    body: unknown,
    variant?: ProcessingVariant,
  ): Promise<DarajaReply> {
    if (!(await this.simulator.isTokenCurrent(authorization))) return invalidAccessTokenFor('c2bsimulate');
    const checked = checkC2bSimulate(body);
    if (!checked.ok) return checked.reply;

    const now = new Date();
    const request = checked.value;
    const originatorConversationId = await this.newOriginatorId(version);
    const payment: SimulatedC2bPayment = {
      originatorConversationId,
      version,
      shortCode: request.shortCode,
      commandId: request.commandId,
      amount: request.amount,
      phone: request.phone,
      billRefNumber: request.billRefNumber,
      receipt: await this.simulator.reserveReceipt(`c2b:${originatorConversationId}`, C2B_TTL_SECONDS),
      outcome: c2bScenarioFor(request.phone).outcome,
      status: 'pending',
      validation: null,
      confirmations: 0,
      silent: variant === 'no_result',
      createdAt: now.toISOString(),
    };
    await this.storePayment(payment, true);
    this.simulator.scheduleTask(`C2B payment ${payment.receipt}`, this.settings.callbackDelayMs, () =>
      this.complete(originatorConversationId),
    );
    return { status: 200, body: simulateResponse(version, originatorConversationId, newConversationId(now)) };
  }

  // ---- Test controls ----

  async switches(): Promise<C2bSwitches> {
    const raw = await this.redis.hgetall(this.switchesKey);
    const format = raw.msisdnFormat as MsisdnFormat | undefined;
    return {
      stkConfirmations: raw.stkConfirmations === undefined ? DEFAULT_C2B_SWITCHES.stkConfirmations : raw.stkConfirmations === '1',
      stkConfirmationDelayMs: raw.stkConfirmationDelayMs === undefined ? 0 : Number(raw.stkConfirmationDelayMs),
      validation: raw.validation === undefined ? DEFAULT_C2B_SWITCHES.validation : raw.validation === '1',
      registration: raw.registration === 'production' ? 'production' : 'sandbox',
      msisdnFormat: format && (MSISDN_FORMATS as readonly string[]).includes(format) ? format : DEFAULT_C2B_SWITCHES.msisdnFormat,
    };
  }

  /** Changes the switches given, keeps the others; returns them all. */
  async setSwitches(patch: Partial<C2bSwitches>): Promise<C2bSwitches> {
    const fields: Record<string, string> = {};
    if (patch.stkConfirmations !== undefined) fields.stkConfirmations = patch.stkConfirmations ? '1' : '0';
    if (patch.stkConfirmationDelayMs !== undefined) fields.stkConfirmationDelayMs = String(patch.stkConfirmationDelayMs);
    if (patch.validation !== undefined) fields.validation = patch.validation ? '1' : '0';
    if (patch.registration !== undefined) fields.registration = patch.registration;
    if (patch.msisdnFormat !== undefined) fields.msisdnFormat = patch.msisdnFormat;
    if (Object.keys(fields).length > 0) await this.redis.hset(this.switchesKey, fields);
    return this.switches();
  }

  async resetSwitches(): Promise<void> {
    await this.redis.del(this.switchesKey);
  }

  async registrations(): Promise<C2bRegistration[]> {
    const raw = await this.redis.hgetall(this.urlsKey);
    return Object.values(raw).map((row) => JSON.parse(row) as C2bRegistration);
  }

  async registration(shortCode: string): Promise<C2bRegistration | undefined> {
    const raw = await this.redis.hget(this.urlsKey, shortCode);
    return raw ? (JSON.parse(raw) as C2bRegistration) : undefined;
  }

  /** What Safaricom's URL Management does in production: the shortcode can register again. */
  async deleteRegistration(shortCode: string): Promise<boolean> {
    return (await this.redis.hdel(this.urlsKey, shortCode)) === 1;
  }

  async findPayment(originatorConversationId: string): Promise<SimulatedC2bPayment | undefined> {
    const raw = await this.redis.get(this.paymentKey(originatorConversationId));
    return raw ? (JSON.parse(raw) as SimulatedC2bPayment) : undefined;
  }

  /** Every simulated C2B payment from the phone still in Redis, oldest first. */
  async paymentsForPhone(phone: string): Promise<SimulatedC2bPayment[]> {
    const ids = await this.redis.lrange(this.phoneKey(phone), 0, -1);
    if (ids.length === 0) return [];
    const rows = await this.redis.mget(ids.map((id) => this.paymentKey(id)));
    return rows.filter((row): row is string => row !== null).map((row) => JSON.parse(row) as SimulatedC2bPayment);
  }

  // ---- Internals ----

  /**
   * Validation (when a ValidationURL is registered and validation is on), then the money and the confirmations. A
   * validation answer other than "0" cancels the payment; no usable answer leaves it to the registered ResponseType.
   */
  private async complete(originatorConversationId: string): Promise<void> {
    const payment = await this.findPayment(originatorConversationId);
    if (!payment || payment.status !== 'pending') return;
    const registration = payment.silent ? undefined : await this.registration(payment.shortCode);
    const switches = await this.switches();

    let validation: C2bValidation = 'not_sent';
    let validationResultCode: string | undefined;
    let thirdPartyTransId: string | undefined;
    let cancelled = false;
    if (registration && switches.validation) {
      const body = c2bCallbackBody(this.facts(payment, new Date()), 'validation', { msisdnFormat: switches.msisdnFormat });
      const answer = await this.simulator.postForAnswer(
        `C2B validation ${payment.receipt}`,
        registration.validationUrl,
        body,
        VALIDATION_TIMEOUT_MS,
      );
      const read = answer.failure ? ({ kind: 'unreachable' } as const) : readValidationAnswer(answer.body);
      validation = read.kind;
      if (read.kind === 'rejected') {
        validationResultCode = read.resultCode;
        cancelled = true;
      } else if (read.kind === 'accepted') {
        validationResultCode = '0';
        thirdPartyTransId = read.thirdPartyTransId;
      } else {
        cancelled = registration.responseType === 'Cancelled';
      }
    }
    if (cancelled) {
      await this.storePayment({ ...payment, status: 'cancelled', validation, validationResultCode });
      return;
    }

    const completedAt = new Date();
    const facts = this.facts(payment, completedAt);
    const { balanceCents } = await this.simulator.ledger.add({
      id: payment.receipt,
      receipt: payment.receipt,
      kind: 'c2b',
      amount: payment.amount,
      completedAt: completedAt.toISOString(),
      shortCode: payment.shortCode,
      msisdn: payment.phone,
      name: LEDGER_CUSTOMER_NAME,
      accountReference: payment.billRefNumber,
      transactionType: payment.commandId,
      origin: 'simulated',
    });
    const delays = registration ? c2bConfirmationDelaysMs(c2bScenarioFor(payment.phone), this.settings) : [];
    await this.storePayment({
      ...payment,
      status: 'completed',
      completedAt: completedAt.toISOString(),
      validation,
      validationResultCode,
      confirmations: delays.length,
    });
    if (!registration) return;
    const confirmation = c2bCallbackBody(facts, 'confirmation', {
      msisdnFormat: switches.msisdnFormat,
      orgBalanceCents: balanceCents,
      thirdPartyTransId,
    });
    for (const delay of delays) {
      this.simulator.schedulePost(`C2B confirmation ${payment.receipt}`, registration.confirmationUrl, confirmation, delay);
    }
  }

  /**
   * With `stkConfirmations` on, a successful STK push to a shortcode with registered URLs is also confirmed on the
   * confirmation URL, with the push's receipt, at its settlement (moved by `stkConfirmationDelayMs`).
   */
  private async confirmStkPayment(transaction: SimulatedStkTransaction, settleMs: number): Promise<void> {
    if (!transaction.receipt) return;
    const switches = await this.switches();
    if (!switches.stkConfirmations) return;
    const registration = (await this.registration(this.mpesa.partyB)) ?? (await this.registration(this.mpesa.shortcode));
    if (!registration) return;
    const facts: C2bCallbackFacts = {
      receipt: transaction.receipt,
      amount: transaction.amount,
      msisdn: transaction.phone,
      name: LEDGER_CUSTOMER_NAME,
      accountReference: transaction.accountReference,
      transactionType: transaction.transactionType,
      shortCode: registration.shortCode,
      completedAt: new Date(transaction.settlesAt),
    };
    const body = c2bCallbackBody(facts, 'confirmation', {
      msisdnFormat: switches.msisdnFormat,
      orgBalanceCents: await this.simulator.ledger.balanceCents(this.mpesa.shortcode),
    });
    const delay = Math.max(0, settleMs + switches.stkConfirmationDelayMs);
    this.simulator.schedulePost(`C2B confirmation ${transaction.receipt} (STK)`, registration.confirmationUrl, body, delay);
  }

  private facts(payment: SimulatedC2bPayment, at: Date): C2bCallbackFacts {
    return {
      receipt: payment.receipt,
      amount: payment.amount,
      msisdn: payment.phone,
      name: LEDGER_CUSTOMER_NAME,
      accountReference: payment.billRefNumber,
      transactionType: payment.commandId,
      shortCode: payment.shortCode,
      completedAt: at,
    };
  }

  private async newOriginatorId(version: 'v1' | 'v2'): Promise<string> {
    return version === 'v2' ? newC2bV2OriginatorId() : newC2bV1OriginatorId(await this.simulator.nextSequence());
  }

  private async storePayment(payment: SimulatedC2bPayment, isNew = false): Promise<void> {
    const tx = this.redis.multi().set(this.paymentKey(payment.originatorConversationId), JSON.stringify(payment), 'EX', C2B_TTL_SECONDS);
    if (isNew) {
      const phoneKey = this.phoneKey(payment.phone);
      tx.rpush(phoneKey, payment.originatorConversationId).expire(phoneKey, C2B_TTL_SECONDS);
    }
    await tx.exec();
  }

  private get urlsKey() {
    return this.keys.key('sim', 'c2b-urls');
  }
  private get switchesKey() {
    return this.keys.key('sim', 'c2b-switches');
  }
  private paymentKey(originatorConversationId: string) {
    return this.keys.key('sim', 'c2b', originatorConversationId);
  }
  private phoneKey(phone: string) {
    return this.keys.key('sim', 'c2b-phone', phone);
  }
}
