import { createHash } from 'node:crypto';
import Redis from 'ioredis';
import type { SimulatorKeys } from './simulator-redis';
import { SIMULATED_CUSTOMER_NAME } from './simulator-money-out-wire';

/**
 * The simulator's ledger: every shilling it moved, as M-Pesa's own books would show it. Pull Transactions and the
 * org-portal statement are read from it, so a payment whose notification was lost is still there to be found. It is
 * in Redis like the rest of the simulator's state (any app process may complete a payment or answer a query), and
 * bounded: the oldest rows go first once LEDGER_MAX_ROWS is reached.
 */

/** Money in: `stk` (a completed STK push), `c2b` (a paybill/till payment made through C2B simulate). Money out: the rest. */
export const LEDGER_KINDS = ['stk', 'c2b', 'b2c', 'reversal', 'charge'] as const;
export type LedgerKind = (typeof LEDGER_KINDS)[number];

/** What Pull Transactions lists: C2B only, no B2C, reversals or charges (docs/daraja.md §17.7); STK is C2B. */
export const PULL_KINDS: readonly LedgerKind[] = ['stk', 'c2b'];

export const isMoneyIn = (kind: LedgerKind) => kind === 'stk' || kind === 'c2b';

/** Enough for a day of tests or a bench run; a row is about 400 bytes. */
export const LEDGER_MAX_ROWS = 20_000;

/** Every simulated customer's registered name, as B2C results and Transaction Status give it. */
export const LEDGER_CUSTOMER_NAME = SIMULATED_CUSTOMER_NAME;

export interface LedgerEntry {
  /** Unique per row: the receipt, or `<receipt>:charge` for the charge row that shares a payment's receipt. */
  id: string;
  /** The M-Pesa receipt (STK MpesaReceiptNumber, C2B TransID, B2C TransactionReceipt, a reversal's TransactionID). */
  receipt: string;
  kind: LedgerKind;
  /** KES, positive, at most two decimals; `kind` says which way it moved. */
  amount: number;
  /** ISO instant the transaction completed (an STK push's is its settlement, possibly a little in the future). */
  completedAt: string;
  /** The organisation's shortcode it moved on: the paybill or till for money in, the B2C shortcode for payouts. */
  shortCode: string;
  /** An STK push's PartyB when it differs from its BusinessShortCode (a till): filters match either. */
  partyB?: string;
  /** The customer's plain MSISDN (shown masked), or '' when the payer is not a person. */
  msisdn: string;
  /** The customer's registered name as M-Pesa shows it. */
  name: string;
  /** BillRefNumber / AccountReference; null where none applies (tills, payouts). */
  accountReference: string | null;
  /** STK and C2B: CustomerPayBillOnline | CustomerBuyGoodsOnline; B2C: its CommandID; others: free text. */
  transactionType: string;
  /** Reversal: the receipt it reversed. */
  originalReceipt?: string;
  /** A statement Details text that replaces the generated one (control API). */
  details?: string;
  /** `simulated`: written by a simulated Daraja request; `control`: added or changed through the control API. */
  origin: 'simulated' | 'control';
}

/** Signed cents as the organisation's account sees the row: paid in positive, withdrawn negative. */
export function signedCents(entry: Pick<LedgerEntry, 'kind' | 'amount'>): number {
  const cents = Math.round(entry.amount * 100);
  return isMoneyIn(entry.kind) ? cents : -cents;
}

export const chargeId = (receipt: string) => `${receipt}:charge`;

/** Whether the row moved money on `shortCode` (its BusinessShortCode, or an STK push's PartyB). */
export const onShortCode = (entry: LedgerEntry, shortCode: string) => entry.shortCode === shortCode || entry.partyB === shortCode;

// ---- How the payer's number is shown ----

/**
 * C2B callbacks give the payer's number masked (v2), hashed (v1 per the docs), plain (Daraja 1.0) or empty (a business
 * payer): docs/daraja.md §9.7. The simulator masks by default; a control switch picks another format.
 */
export const MSISDN_FORMATS = ['masked', 'hashed', 'plain', 'empty'] as const;
export type MsisdnFormat = (typeof MSISDN_FORMATS)[number];

/** `2547 ***** 126`: the D-C2B sample's mask, four leading and three trailing digits. */
export const maskC2bMsisdn = (msisdn: string) => (msisdn.length >= 7 ? `${msisdn.slice(0, 4)} ***** ${msisdn.slice(-3)}` : '');

/** `2547****376`: the org-portal statement's mask (docs/daraja.md §18.3). */
export const maskStatementMsisdn = (msisdn: string) => (msisdn.length >= 7 ? `${msisdn.slice(0, 4)}****${msisdn.slice(-3)}` : '');

/** Lower-case hex `sha256("2547XXXXXXXX")`, the only hash input a sample confirms (docs/daraja.md §9.7). */
export const hashMsisdn = (msisdn: string) => createHash('sha256').update(msisdn).digest('hex');

export function formatMsisdn(msisdn: string, format: MsisdnFormat): string {
  if (!msisdn) return '';
  switch (format) {
    case 'masked':
      return maskC2bMsisdn(msisdn);
    case 'hashed':
      return hashMsisdn(msisdn);
    case 'plain':
      return msisdn;
    case 'empty':
      return '';
  }
}

// ---- Storage ----

/**
 * KEYS: the rows' sorted set (score: completion ms), the rows' hash (id -> JSON), the per-shortcode balances (cents).
 * ARGV: id, JSON, score, max rows, shortcode, signed cents. Adds a row unless its id exists; drops the oldest rows
 * beyond the maximum. Returns [1 added | 0 already there, the shortcode's balance after].
 */
const ADD_SCRIPT = `
if redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return {0, redis.call('HGET', KEYS[3], ARGV[5]) or '0'}
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
local balance = redis.call('HINCRBY', KEYS[3], ARGV[5], ARGV[6])
local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[4])
if excess > 0 then
  local old = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, excess - 1)
  redis.call('HDEL', KEYS[2], unpack(old))
end
return {1, tostring(balance)}`;

type LedgerRedis = Redis & { simulatorLedgerAdd: (...args: (string | number)[]) => Promise<[number, string]> };

/** A patch of the control API: what M-Pesa's books say differently from what the simulator told the app. */
export type LedgerPatch = Partial<Pick<LedgerEntry, 'amount' | 'completedAt' | 'accountReference' | 'details' | 'msisdn' | 'name'>>;

/** Plain class (not a provider): DarajaSimulatorService owns one and the other simulator services use it. */
export class SimulatorLedger {
  constructor(
    private readonly redis: Redis,
    private readonly keys: SimulatorKeys,
    private readonly maxRows = LEDGER_MAX_ROWS,
  ) {
    if (!('simulatorLedgerAdd' in redis)) redis.defineCommand('simulatorLedgerAdd', { numberOfKeys: 3, lua: ADD_SCRIPT });
  }

  /**
   * Records a row once (a second add of the same id changes nothing). `balanceCents`: the shortcode's running total of
   * the ledger's rows after it, which C2B confirmations report as OrgAccountBalance.
   */
  async add(entry: LedgerEntry): Promise<{ added: boolean; balanceCents: number }> {
    const [added, balance] = await (this.redis as LedgerRedis).simulatorLedgerAdd(
      this.rowsKey,
      this.entriesKey,
      this.balancesKey,
      entry.id,
      JSON.stringify(entry),
      Date.parse(entry.completedAt),
      this.maxRows,
      entry.shortCode,
      signedCents(entry),
    );
    return { added: added === 1, balanceCents: Number(balance) };
  }

  async get(id: string): Promise<LedgerEntry | undefined> {
    const raw = await this.redis.hget(this.entriesKey, id);
    return raw ? (JSON.parse(raw) as LedgerEntry) : undefined;
  }

  /** Changes a row as the control API asks; undefined when there is no such row. */
  async update(id: string, patch: LedgerPatch): Promise<LedgerEntry | undefined> {
    const entry = await this.get(id);
    if (!entry) return undefined;
    const changed: LedgerEntry = { ...entry, ...definedOnly(patch), origin: 'control' };
    await this.redis
      .multi()
      .hset(this.entriesKey, id, JSON.stringify(changed))
      .zadd(this.rowsKey, Date.parse(changed.completedAt), id)
      .hincrby(this.balancesKey, changed.shortCode, signedCents(changed) - signedCents(entry))
      .exec();
    return changed;
  }

  /** Removes a row (M-Pesa "never had it"); false when there was none. */
  async remove(id: string): Promise<boolean> {
    const entry = await this.get(id);
    if (!entry) return false;
    await this.redis
      .multi()
      .hdel(this.entriesKey, id)
      .zrem(this.rowsKey, id)
      .hincrby(this.balancesKey, entry.shortCode, -signedCents(entry))
      .exec();
    return true;
  }

  /** The shortcode's running total of the ledger's rows, in cents (what OrgAccountBalance reports). */
  async balanceCents(shortCode: string): Promise<number> {
    return Number((await this.redis.hget(this.balancesKey, shortCode)) ?? 0);
  }

  async clear(): Promise<void> {
    await this.redis.del(this.rowsKey, this.entriesKey, this.balancesKey);
  }

  /** Rows completed in [fromMs, toMs], oldest first (ties by id, so that paging is stable). */
  async between(fromMs: number, toMs: number): Promise<LedgerEntry[]> {
    if (toMs < fromMs) return [];
    const ids = await this.redis.zrangebyscore(this.rowsKey, score(fromMs), score(toMs));
    if (ids.length === 0) return [];
    const rows = await this.redis.hmget(this.entriesKey, ...ids);
    return rows
      .filter((row): row is string => row !== null)
      .map((row) => JSON.parse(row) as LedgerEntry)
      .sort((a, b) => Date.parse(a.completedAt) - Date.parse(b.completedAt) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  /** Rows completed before `beforeMs` (exclusive): what a statement's opening balance sums. */
  before(beforeMs: number): Promise<LedgerEntry[]> {
    return this.between(Number.NEGATIVE_INFINITY, beforeMs - 1);
  }

  private get rowsKey() {
    return this.keys.key('sim', 'ledger', 'rows');
  }
  private get entriesKey() {
    return this.keys.key('sim', 'ledger', 'entries');
  }
  private get balancesKey() {
    return this.keys.key('sim', 'ledger', 'balances');
  }
}

/** Redis spells the infinite bounds `-inf` / `+inf`. */
const score = (ms: number) => (Number.isFinite(ms) ? String(ms) : ms < 0 ? '-inf' : '+inf');

function definedOnly<T extends object>(patch: T): Partial<T> {
  return Object.fromEntries(Object.entries(patch).filter(([, value]) => value !== undefined)) as Partial<T>;
}
