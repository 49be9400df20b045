import { Inject, Injectable } from '@nestjs/common';
import Redis from 'ioredis';
import { SIMULATOR_REDIS, SimulatorKeys } from './simulator-redis';
import { DarajaReply, invalidAccessToken } from './daraja-errors';
import { checkPullQuery, checkPullRegister } from './simulator-c2b-checks';
import { PullRegistration, pullNoRecordsResponse, pullQueryResponse, pullRecord, pullRegisterResponse } from './simulator-c2b-wire';
import { SimulatorC2bService } from './simulator-c2b.service';
import { onShortCode, PULL_KINDS } from './simulator-ledger';
import { DarajaSimulatorService } from './simulator.service';

/** Pull lists the last 48 hours only (docs/daraja.md §17.3). */
export const PULL_WINDOW_MS = 48 * 60 * 60 * 1000;

/**
 * What `OffSetValue` counts (the sources disagree, docs/daraja.md §17.6): `page`, a page index (0, 1, 2 …), as the
 * FAQ says and production clients walk it (the default); `row`, a row offset (0, 100, 200 … with pages of 100), as the
 * request table says. A control switch picks one, so a client can be tested against both.
 */
export type PullOffsetReading = 'page' | 'row';

export interface PullSettings {
  /** Records per answer; 100 fits "318 records in 4 pages" (§17.6). */
  pageSize: number;
  offsetReading: PullOffsetReading;
}

export const DEFAULT_PULL_SETTINGS: PullSettings = { pageSize: 100, offsetReading: 'page' };
export const MAX_PULL_PAGE_SIZE = 1_000;

/**
 * Pull Transactions over the simulator's ledger: its C2B and STK payments (no payouts, reversals or charges) to the
 * registered shortcode, completed in the asked window and within the last 48 hours, oldest first.
 */
@Injectable()
export class SimulatorPullService {
  constructor(
    @Inject(SIMULATOR_REDIS) private readonly redis: Redis,
    private readonly keys: SimulatorKeys,
    private readonly simulator: DarajaSimulatorService,
    private readonly c2b: SimulatorC2bService,
  ) {
    simulator.onReset(() => this.resetSettings());
  }

  // ---- Daraja endpoints ----

  /** 1000 the first time for a shortcode, 1001 "already Registered" after that; both are HTTP 200. */
  async register(authorization: string | undefined, body: unknown): Promise<DarajaReply> {
    if (!(await this.simulator.isTokenCurrent(authorization))) return invalidAccessToken();
    const checked = checkPullRegister(body);
    if (!checked.ok) return checked.reply;
    const registration: PullRegistration = { ...checked.value, registeredAt: new Date().toISOString() };
    const created = await this.redis.hsetnx(this.registrationsKey, registration.shortCode, JSON.stringify(registration));
    return { status: 200, body: pullRegisterResponse(registration.shortCode, created === 0) };
  }

  /**
   * One page. A StartDate older than 48 hours is not refused: the window is clipped to the last 48 hours, since Daraja
   * documents a retention ("only the last 48 hours can be pulled"), not an error. EndDate counts to the end of its
   * second, and never beyond now. An unregistered shortcode, a quiet window and a page past the last all answer 1001.
   */
  async query(authorization: string | undefined, body: unknown): Promise<DarajaReply> {
    if (!(await this.simulator.isTokenCurrent(authorization))) return invalidAccessToken();
    const checked = checkPullQuery(body);
    if (!checked.ok) return checked.reply;
    const { shortCode, start, end, offset } = checked.value;
    const noRecords = { status: 200, body: pullNoRecordsResponse() };
    if (!(await this.redis.hexists(this.registrationsKey, shortCode))) return noRecords;

    const now = Date.now();
    const from = Math.max(start.getTime(), now - PULL_WINDOW_MS);
    const to = Math.min(end.getTime() + 999, now);
    const rows = (await this.simulator.ledger.between(from, to)).filter(
      (entry) => PULL_KINDS.includes(entry.kind) && onShortCode(entry, shortCode),
    );
    const { pageSize, offsetReading } = await this.settings();
    const first = offsetReading === 'page' ? offset * pageSize : offset;
    const page = rows.slice(first, first + pageSize);
    if (page.length === 0) return noRecords;

    const { msisdnFormat } = await this.c2b.switches();
    const records = page.map((entry) => pullRecord(entry, msisdnFormat));
    return { status: 200, body: pullQueryResponse(records, Math.ceil(rows.length / pageSize), rows.length) };
  }

  // ---- Test controls ----

  async settings(): Promise<PullSettings> {
    const raw = await this.redis.hgetall(this.settingsKey);
    const pageSize = Number(raw.pageSize);
    return {
      pageSize: Number.isInteger(pageSize) && pageSize > 0 ? pageSize : DEFAULT_PULL_SETTINGS.pageSize,
      offsetReading: raw.offsetReading === 'row' ? 'row' : DEFAULT_PULL_SETTINGS.offsetReading,
    };
  }

  async setSettings(patch: Partial<PullSettings>): Promise<PullSettings> {
    const fields: Record<string, string> = {};
    if (patch.pageSize !== undefined) fields.pageSize = String(patch.pageSize);
    if (patch.offsetReading !== undefined) fields.offsetReading = patch.offsetReading;
    if (Object.keys(fields).length > 0) await this.redis.hset(this.settingsKey, fields);
    return this.settings();
  }

  async resetSettings(): Promise<void> {
    await this.redis.del(this.settingsKey);
  }

  async registrations(): Promise<PullRegistration[]> {
    const raw = await this.redis.hgetall(this.registrationsKey);
    return Object.values(raw).map((row) => JSON.parse(row) as PullRegistration);
  }

  async deleteRegistration(shortCode: string): Promise<boolean> {
    return (await this.redis.hdel(this.registrationsKey, shortCode)) === 1;
  }

  private get registrationsKey() {
    return this.keys.key('sim', 'pull-registrations');
  }
  private get settingsKey() {
    return this.keys.key('sim', 'pull-settings');
  }
}
