import pino, { LoggerOptions } from 'pino';
import { Writable } from 'node:stream';
import { loggerOptions } from '../../src/common/logging';
import { currentRequestId, isUsableRequestId, runJobInContext, withRequestId } from '../../src/common/request-context';

/** The app's pino settings, writing JSON lines to an array. */
function captureLogger(): { logger: pino.Logger; lines: () => string[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const [options] = loggerOptions('info').pinoHttp as [LoggerOptions, unknown];
  const logger = pino(options, stream);
  return { logger, lines: () => chunks.join('').split('\n').filter(Boolean) };
}

const occurrences = (text: string, what: string) => text.split(what).length - 1;

describe('log lines and the request context', () => {
  it('carry the request id of the work being done, and none outside of it', () => {
    const { logger, lines } = captureLogger();
    withRequestId('trace-abc', () => logger.info('inside'));
    logger.info('outside');

    const [inside, outside] = lines().map((l) => JSON.parse(l));
    expect(inside).toMatchObject({ msg: 'inside', requestId: 'trace-abc' });
    expect(outside.requestId).toBeUndefined();
  });

  it('keep an HTTP line on its own request id and add the id of the payment it works for, without a duplicate key', () => {
    const { logger, lines } = captureLogger();
    const httpLogger = logger.child({ requestId: 'callback-1' }); // what pino-http's customProps binds
    withRequestId('callback-1', () => httpLogger.info('own request'));
    withRequestId('trace-abc', () => httpLogger.info('settling the payment'));

    const [own, settling] = lines();
    expect(occurrences(own, '"requestId"')).toBe(1);
    expect(JSON.parse(own).originRequestId).toBeUndefined();
    expect(occurrences(settling, '"requestId"')).toBe(1);
    expect(JSON.parse(settling)).toMatchObject({ requestId: 'callback-1', originRequestId: 'trace-abc' });
  });

  it('run a job under the request id in its data, and a job without one under none', async () => {
    const seen = await withRequestId('unrelated', async () => [
      await runJobInContext({ data: { paymentId: 'p1', requestId: 'trace-job' } }, async () => currentRequestId()),
      await runJobInContext({ data: {} }, async () => currentRequestId()),
    ]);
    expect(seen).toEqual(['trace-job', undefined]);
  });
});

describe('log redaction', () => {
  it('masks phone numbers and strips credentials from messages, fields and errors', () => {
    const { logger, lines } = captureLogger();
    logger.info(
      { context: 'Test', body: { PhoneNumber: 254722000000, Password: 'MTc0Mzc5', note: 'call 0722000000' } },
      'Bearer c9SQxWWhmdVRlyh0zh8gZDTkubVF for +254722000000',
    );
    logger.error({ err: new Error('Daraja refused 254722000000') }, 'failed');

    const text = lines().join('\n');
    expect(text).not.toMatch(/722000000/);
    expect(text).not.toContain('MTc0Mzc5');
    expect(text).not.toContain('c9SQxWWhmdVRlyh0zh8gZDTkubVF');
    const [info, error] = lines().map((l) => JSON.parse(l));
    expect(info).toMatchObject({
      msg: 'Bearer [REDACTED] for 2547****000',
      body: { PhoneNumber: '2547****000', Password: '[REDACTED]', note: 'call 2547****000' },
    });
    expect(error.err.message).toBe('Daraja refused 2547****000');
  });
});

describe(isUsableRequestId.name, () => {
  it.each([['trace-1234'], ['5f0c2a1e-8d4b-4c7e-9a43-1b2c3d4e5f60'], ['req.42:a_b']])('accepts %s', (id) => {
    expect(isUsableRequestId(id)).toBe(true);
  });

  it.each([['a'.repeat(65)], ['has space'], ['line\nbreak'], ['0722000000'], ['order-254722000000'], [''], [undefined]])(
    'refuses %j',
    (id) => {
      expect(isUsableRequestId(id)).toBe(false);
    },
  );
});
