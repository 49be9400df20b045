import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import Redis from 'ioredis';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { simulatorConfig } from '../../config/configuration';
import { SIMULATOR_REDIS, SimulatorKeys } from './simulator-redis';

/** The page lists the latest arrivals and callbacks only: enough to follow a session, bounded under a bench. */
const JOURNAL_LENGTH = 200;
/** A recording longer than this keeps its first entries: a fixture, not a capture of a load test. */
const RECORDING_MAX_ENTRIES = 5_000;

/** One Daraja request and what the simulator answered (`answer.status` 0: the connection was dropped). */
export interface JournalCall {
  kind: 'call';
  at: string;
  endpoint: string;
  method: string;
  path: string;
  request: unknown;
  answer: { status: number; body?: unknown };
}

/** One POST the simulator sent (an STK callback, a B2C result, a C2B validation...) and what it got back. */
export interface JournalCallback {
  kind: 'callback';
  at: string;
  label: string;
  url: string;
  payload: unknown;
  answer: { status?: number; body?: unknown; failure?: string };
}

export type JournalEntry = JournalCall | JournalCallback;

export interface Recording {
  startedAt: string;
  stoppedAt: string;
  /** Requests, answers and callbacks in the order they happened; secrets replaced by `<redacted>`. */
  entries: JournalEntry[];
  /** Where the recording was written (SIMULATOR_RECORD_DIR), if anywhere. */
  file?: string;
}

// KEYS: journal list, recording flag, recording entries. ARGV: entry, journal length, recording cap.
const JOURNAL_ADD_SCRIPT = `
redis.call('LPUSH', KEYS[1], ARGV[1])
redis.call('LTRIM', KEYS[1], 0, tonumber(ARGV[2]) - 1)
if redis.call('EXISTS', KEYS[2]) == 1 and redis.call('LLEN', KEYS[3]) < tonumber(ARGV[3]) then
  redis.call('RPUSH', KEYS[3], ARGV[1])
end
return 1`;

type JournalRedis = Redis & { simulatorJournalAdd: (...args: (string | number)[]) => Promise<number> };

const SECRET_FIELDS = new Set(['Password', 'SecurityCredential', 'authorization', 'Authorization']);
const MSISDN = /^2547\d{8}$|^2541\d{8}$/;

/**
 * For fixtures: the request and answer as they were, minus what would let a reader call Daraja as the client did
 * (the STK Password, the SecurityCredential, tokens in callback URLs).
 */
export function redactSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(redactSecrets);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [
        k,
        SECRET_FIELDS.has(k) || k === 'access_token' ? '<redacted>' : redactSecrets(v),
      ]),
    );
  }
  if (typeof value === 'string' && /^https?:\/\//.test(value)) return withoutQuery(value);
  return value;
}

/** For the page: redactSecrets plus phone numbers cut to `2547******49`. */
export function redactForDisplay(value: unknown): unknown {
  const masked = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(masked);
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, x]) => [k, masked(x)]));
    if ((typeof v === 'string' || typeof v === 'number') && MSISDN.test(String(v))) return maskPhone(String(v));
    if (typeof v === 'string') return v.replace(/2547\d{8}|2541\d{8}/g, (m) => maskPhone(m));
    return v;
  };
  return masked(redactSecrets(value));
}

export const maskPhone = (msisdn: string) => `${msisdn.slice(0, 4)}******${msisdn.slice(-2)}`;

function withoutQuery(url: string): string {
  try {
    const u = new URL(url);
    return u.search ? `${u.origin}${u.pathname}?<redacted>` : url;
  } catch {
    return url;
  }
}

/**
 * The journal of what the simulator received and sent (for the page at `/` and `GET /simulator/control/journal`)
 * and the scenario recorder, which saves a run's requests, answers and callbacks as JSON fixtures. Both live in the
 * simulator's Redis, so every process of a fleet writes to the same journal and recording.
 */
@Injectable()
export class SimulatorRecorder {
  private readonly logger = new Logger(SimulatorRecorder.name);

  constructor(
    @Inject(SIMULATOR_REDIS) private readonly redis: Redis,
    private readonly keys: SimulatorKeys,
    @Inject(simulatorConfig.KEY) private readonly settings: ConfigType<typeof simulatorConfig>,
  ) {
    if (!('simulatorJournalAdd' in redis)) redis.defineCommand('simulatorJournalAdd', { numberOfKeys: 3, lua: JOURNAL_ADD_SCRIPT });
  }

  /** Never throws: a journal that cannot be written must not change Daraja's answer. One round trip per entry. */
  async add(entry: JournalEntry): Promise<void> {
    try {
      const recorded = JSON.stringify(redactSecrets(entry));
      await (this.redis as JournalRedis).simulatorJournalAdd(
        this.journalKey,
        this.recordingKey,
        this.entriesKey,
        recorded,
        JOURNAL_LENGTH,
        RECORDING_MAX_ENTRIES,
      );
    } catch (error) {
      this.logger.warn(`Journal not written: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Newest first, secrets redacted (phone numbers are masked by the page, not here). */
  async journal(): Promise<JournalEntry[]> {
    return (await this.redis.lrange(this.journalKey, 0, -1)).map((e) => JSON.parse(e) as JournalEntry);
  }

  async clearJournal(): Promise<void> {
    await this.redis.del(this.journalKey);
  }

  /** Starts a recording (a running one is restarted: its entries are dropped). */
  async start(): Promise<{ startedAt: string }> {
    const startedAt = new Date().toISOString();
    await this.redis.multi().del(this.entriesKey).set(this.recordingKey, startedAt).exec();
    return { startedAt };
  }

  async status(): Promise<{ recording: boolean; startedAt?: string; entries: number }> {
    const [startedAt, entries] = await Promise.all([this.redis.get(this.recordingKey), this.redis.llen(this.entriesKey)]);
    return startedAt ? { recording: true, startedAt, entries } : { recording: false, entries: 0 };
  }

  /** Stops the recording and answers it; undefined when none was running. Written to SIMULATOR_RECORD_DIR when set. */
  async stop(name?: string): Promise<Recording | undefined> {
    const [[, startedAt], [, raw]] = (await this.redis
      .multi()
      .get(this.recordingKey)
      .lrange(this.entriesKey, 0, -1)
      .del(this.recordingKey, this.entriesKey)
      .exec()) as [[unknown, string | null], [unknown, string[]], unknown];
    if (!startedAt) return undefined;
    const recording: Recording = {
      startedAt,
      stoppedAt: new Date().toISOString(),
      entries: raw.map((e) => JSON.parse(e) as JournalEntry),
    };
    if (this.settings.recordDir) {
      const dir = resolve(this.settings.recordDir);
      await mkdir(dir, { recursive: true });
      const file = join(dir, `${safeName(name) ?? `recording-${recording.startedAt.replace(/[:.]/g, '-')}`}.json`);
      recording.file = file;
      await writeFile(file, `${JSON.stringify(recording, null, 2)}\n`);
    }
    return recording;
  }

  private get journalKey() {
    return this.keys.key('sim', 'journal');
  }
  private get recordingKey() {
    return this.keys.key('sim', 'recording');
  }
  private get entriesKey() {
    return this.keys.key('sim', 'recording', 'entries');
  }
}

/** A file name from the caller: letters, digits, `-` and `_` only, so it cannot leave the folder. */
function safeName(name: string | undefined): string | undefined {
  return name && /^[A-Za-z0-9_-]{1,80}$/.test(name) ? name : undefined;
}
