import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { InjectEntityManager } from '@nestjs/typeorm';
import { createHash } from 'node:crypto';
import { EntityManager } from 'typeorm';
import { AppError, ErrorCode, ValidationError } from '../common/errors/app-error';
import { workerConfig } from '../config/configuration';
import { queryRows } from '../database/query-rows';
import { IdempotencyRecord } from './idempotency-record.entity';

/** How long a first request may run before another request with its key may take over. */
const IN_FLIGHT_LOCK_MS = 60_000;
const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;

export interface StoredAnswer {
  status: number;
  body: unknown;
  replayed: boolean;
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

export function requestFingerprint(route: string, body: unknown): string {
  return createHash('sha256').update(`${route}\n${JSON.stringify(canonical(body))}`).digest('hex');
}

/**
 * Stripe's Idempotency-Key semantics, per client, in Postgres: the same key and body replay the first answer;
 * another body gets 422; a request while the first is still running gets 409. Errors raised before anything
 * was stored release the key so that the client may retry with it.
 */
@Injectable()
export class IdempotencyService {
  constructor(
    @InjectEntityManager() private readonly manager: EntityManager,
    @Inject(workerConfig.KEY) private readonly settings: ConfigType<typeof workerConfig>,
  ) {}

  async run(
    clientId: string,
    key: string,
    fingerprint: string,
    execute: () => Promise<{ status: number; body: unknown }>,
    recover: () => Promise<{ status: number; body: unknown } | undefined>,
  ): Promise<StoredAnswer> {
    if (!KEY_FORMAT.test(key)) throw new ValidationError('Idempotency-Key must be 1-255 printable ASCII characters');
    const claimed = await this.claim(clientId, key, fingerprint);
    if (!claimed) {
      const existing = await this.manager.findOneByOrFail(IdempotencyRecord, { clientId, key });
      if (existing.requestHash !== fingerprint) {
        throw new AppError(ErrorCode.IDEMPOTENCY_MISMATCH, 'This Idempotency-Key was already used with a different request');
      }
      if (existing.state === 'completed') return { status: existing.responseStatus ?? 200, body: existing.responseBody, replayed: true };
      if (existing.lockedUntil.getTime() > Date.now()) {
        throw new AppError(ErrorCode.IDEMPOTENCY_IN_FLIGHT, 'A request with this Idempotency-Key is still being processed');
      }
      // The first request's process died mid-way. If it got as far as storing a payment, answer from it.
      const recovered = await recover();
      if (recovered) {
        await this.complete(clientId, key, recovered);
        return { ...recovered, replayed: true };
      }
      if (!(await this.takeOver(clientId, key))) {
        throw new AppError(ErrorCode.IDEMPOTENCY_IN_FLIGHT, 'A request with this Idempotency-Key is still being processed');
      }
    }
    let answer: { status: number; body: unknown };
    try {
      answer = await execute();
    } catch (error) {
      await this.manager.delete(IdempotencyRecord, { clientId, key, state: 'in_flight' });
      throw error;
    }
    await this.complete(clientId, key, answer);
    return { ...answer, replayed: false };
  }

  private async claim(clientId: string, key: string, fingerprint: string): Promise<boolean> {
    // An expired record is forgotten first, so the key can start a new life.
    await queryRows(this.manager, `DELETE FROM idempotency_records WHERE client_id = $1 AND key = $2 AND expires_at < now()`, [clientId, key]);
    const rows: unknown[] = await this.manager.query(
      `INSERT INTO idempotency_records (client_id, key, request_hash, state, locked_until, expires_at)
       VALUES ($1, $2, $3, 'in_flight', now() + $4 * interval '1 millisecond', now() + $5 * interval '1 hour')
       ON CONFLICT (client_id, key) DO NOTHING
       RETURNING key`,
      [clientId, key, fingerprint, IN_FLIGHT_LOCK_MS, this.settings.idempotencyTtlHours],
    );
    return rows.length > 0;
  }

  private async takeOver(clientId: string, key: string): Promise<boolean> {
    const rows: unknown[] = await queryRows(this.manager, `UPDATE idempotency_records SET locked_until = now() + $3 * interval '1 millisecond'
        WHERE client_id = $1 AND key = $2 AND state = 'in_flight' AND locked_until < now()
        RETURNING key`,
      [clientId, key, IN_FLIGHT_LOCK_MS],
    );
    return rows.length > 0;
  }

  private async complete(clientId: string, key: string, answer: { status: number; body: unknown }): Promise<void> {
    await this.manager.update(
      IdempotencyRecord,
      { clientId, key },
      { state: 'completed', responseStatus: answer.status, responseBody: answer.body as object },
    );
  }
}
