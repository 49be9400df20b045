import { ArgumentsHost, Logger } from '@nestjs/common';
import { MaxRetriesPerRequestError } from 'ioredis/built/errors';
import { QueryFailedError } from 'typeorm';
import { ValidationError } from '../../src/common/errors/app-error';
import { AppErrorFilter } from '../../src/common/errors/app-error.filter';
import { QueueUnavailableError } from '../../src/common/queues/add-job';

/** What the filter answered: Fastify's reply reduced to what a client sees. */
function answer(error: unknown): { status: number; headers: Record<string, string>; body: Record<string, unknown> } {
  const seen = { status: 0, headers: {} as Record<string, string>, body: {} as Record<string, unknown> };
  const reply = {
    header: (name: string, value: string) => ((seen.headers[name] = value), reply),
    status: (code: number) => ((seen.status = code), reply),
    send: (body: Record<string, unknown>) => ((seen.body = body), reply),
  };
  const host = { switchToHttp: () => ({ getResponse: () => reply }) } as unknown as ArgumentsHost;
  new AppErrorFilter().catch(error, host);
  return seen;
}

describe('AppErrorFilter: a store that is away is an outage (503, Retry-After), not a bug (500)', () => {
  beforeAll(() => {
    jest.spyOn(Logger.prototype, 'warn').mockImplementation(() => undefined);
    jest.spyOn(Logger.prototype, 'error').mockImplementation(() => undefined);
  });
  afterAll(() => jest.restoreAllMocks());

  it.each([
    [
      'Postgres refusing connections',
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      'the database',
    ],
    [
      'Postgres shutting down (through TypeORM)',
      new QueryFailedError(
        'SELECT 1',
        [],
        Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
      ),
      'the database',
    ],
    ['ioredis giving up on a command across a reconnect', new MaxRetriesPerRequestError(1), 'Redis'],
    ['ioredis with its connection closed', new Error('Connection is closed.'), 'Redis'],
    ['ioredis past its command timeout', new Error('Command timed out'), 'Redis'],
    ['an enqueue that found no Redis', new QueueUnavailableError('payments', 'Redis connection is reconnecting'), 'Redis'],
  ])('%s: 503 with Retry-After, naming the store', (_, error, store) => {
    const { status, headers, body } = answer(error);
    expect(status).toBe(503);
    expect(headers['retry-after']).toBe('5');
    expect(body).toMatchObject({ success: false, code: 'SERVICE_UNAVAILABLE' });
    expect(body.message).toContain(`(${store}) does not answer`);
  });

  it('any other error stays a 500 that says nothing of its cause', () => {
    const { status, headers, body } = answer(new Error('Cannot read properties of undefined'));
    expect(status).toBe(500);
    expect(headers['retry-after']).toBeUndefined();
    expect(body).toEqual({ success: false, message: 'Internal server error', code: 'INTERNAL_ERROR' });
  });

  it('a message that merely mentions a closed connection is not taken for Redis', () => {
    expect(answer(new Error('Payout failed: Connection is closed by the bank')).status).toBe(500);
  });

  it('an AppError keeps its own status', () => {
    expect(answer(new ValidationError('amount must be at least 1')).status).toBe(400);
  });
});
