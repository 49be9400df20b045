import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { createHash } from 'node:crypto';
import { AppError, ErrorCode, ValidationError } from '../../common/errors/app-error';
import { workerConfig } from '../../config/configuration';
import { IdempotencyRepository } from './idempotency.repository';

const KEY_FORMAT = /^[\x21-\x7e]{1,255}$/;

/** An answer as first given, replayed for the same key and body. */
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
  return createHash('sha256')
    .update(`${route}\n${JSON.stringify(canonical(body))}`)
    .digest('hex');
}

/**
 * Stripe's Idempotency-Key semantics, per client, in Postgres, for the routes that create or move money: the same key
 * and body replay the first answer; another body gets 422; a request while the first is still running gets 409.
 * Errors raised before anything was stored release the key so that the client may retry with it. The answer is
 * stored as it was given (status and body): controllers call this with the answer they built.
 */
@Injectable()
export class IdempotencyService {
  constructor(
    private readonly records: IdempotencyRepository,
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
    const claimed = await this.records.claim(clientId, key, fingerprint, this.settings.idempotencyTtlHours);
    if (!claimed) {
      const existing = await this.records.find(clientId, key);
      if (!existing) throw new AppError(ErrorCode.IDEMPOTENCY_IN_FLIGHT, 'A request with this Idempotency-Key is still being processed');
      if (existing.requestHash !== fingerprint) {
        throw new AppError(ErrorCode.IDEMPOTENCY_MISMATCH, 'This Idempotency-Key was already used with a different request');
      }
      if (existing.state === 'completed') return { status: existing.responseStatus ?? 200, body: existing.responseBody, replayed: true };
      if (existing.lockedUntil.getTime() > Date.now()) {
        throw new AppError(ErrorCode.IDEMPOTENCY_IN_FLIGHT, 'A request with this Idempotency-Key is still being processed');
      }
      // The first request's process died mid-way. If it got as far as storing what it created, answer from that.
      const recovered = await recover();
      if (recovered) {
        await this.records.complete(clientId, key, recovered);
        return { ...recovered, replayed: true };
      }
      if (!(await this.records.takeOver(clientId, key))) {
        throw new AppError(ErrorCode.IDEMPOTENCY_IN_FLIGHT, 'A request with this Idempotency-Key is still being processed');
      }
    }
    let answer: { status: number; body: unknown };
    try {
      answer = await execute();
    } catch (error) {
      await this.records.release(clientId, key);
      throw error;
    }
    await this.records.complete(clientId, key, answer);
    return { ...answer, replayed: false };
  }
}
