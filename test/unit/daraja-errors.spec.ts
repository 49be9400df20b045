import { classifyDarajaError, classifyNetworkError, DarajaErrorKind } from '../../src/mpesa/daraja-errors';

describe('classifyDarajaError', () => {
  it.each([
    [404, { requestId: 'x', errorCode: '404.001.03', errorMessage: 'Invalid Access Token' }, DarajaErrorKind.InvalidToken],
    [401, { errorCode: '401.002.01', errorMessage: 'Error Occurred - Invalid Access Token - abc123' }, DarajaErrorKind.InvalidToken],
    [400, { errorCode: '400.003.01', errorMessage: 'Invalid Access Token' }, DarajaErrorKind.InvalidToken],
    [500, { errorCode: '500.001.1001', errorMessage: 'The transaction is being processed' }, DarajaErrorKind.StillProcessing],
    [500, { errorCode: '500.003.02', errorMessage: 'Error Occurred: Spike Arrest Violation' }, DarajaErrorKind.Busy],
    [500, { errorCode: '500.003.02', errorMessage: 'System is busy. Please try again in few minutes.' }, DarajaErrorKind.Busy],
    [500, { errorCode: '500.003.03', errorMessage: 'Quota Violation' }, DarajaErrorKind.Busy],
    [500, { errorCode: '500.003.1001', errorMessage: 'Internal Server Error' }, DarajaErrorKind.System],
    [503, 'Request unsuccessful. Incapsula incident ID: 1', DarajaErrorKind.System],
    [500, { errorCode: '500.001.1001', errorMessage: 'Wrong credentials' }, DarajaErrorKind.Rejected],
    [
      500,
      {
        errorCode: '500.001.1001',
        errorMessage: 'Unable to lock subscriber, a transaction is already in process for the current subscriber',
      },
      DarajaErrorKind.Rejected,
    ],
    [400, { errorCode: '400.002.02', errorMessage: 'Bad Request - Invalid PhoneNumber' }, DarajaErrorKind.Rejected],
    [400, { ErrorCode: '400.002.02', ErrorMessage: 'Bad Request - Invalid Amount' }, DarajaErrorKind.Rejected],
    [
      500,
      { fault: { faultstring: 'Spike arrest violation', detail: { errorcode: 'policies.ratelimit.SpikeArrestViolation' } } },
      DarajaErrorKind.Busy,
    ],
    [
      429,
      {
        fault: {
          faultstring: 'Rate limit quota violation. Quota limit exceeded.',
          detail: { errorcode: 'policies.ratelimit.QuotaViolation' },
        },
      },
      DarajaErrorKind.Busy,
    ],
    [429, '', DarajaErrorKind.Busy],
  ])('HTTP %p %j is %p', (status, body, kind) => {
    expect(classifyDarajaError(status, body).kind).toBe(kind);
  });

  it('retries only what Daraja certainly did not act on', () => {
    expect(classifyDarajaError(500, { errorCode: '500.003.02', errorMessage: 'Spike Arrest Violation' }).retryable).toBe(true);
    expect(classifyDarajaError(400, { errorCode: '400.002.02', errorMessage: 'Bad Request - Invalid Amount' }).retryable).toBe(false);
  });
});

describe('classifyNetworkError', () => {
  it('a refused connection was never sent', () => {
    const error = classifyNetworkError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }));
    expect(error.kind).toBe(DarajaErrorKind.NotSent);
    expect(error.retryable).toBe(true);
  });

  it('a timeout may have been processed', () => {
    const error = classifyNetworkError(Object.assign(new Error('timed out'), { name: 'TimeoutError' }));
    expect(error.kind).toBe(DarajaErrorKind.OutcomeUnknown);
    expect(error.retryable).toBe(false);
  });

  it('a socket closed mid-request may have been processed', () => {
    const error = classifyNetworkError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'UND_ERR_SOCKET' } }));
    expect(error.kind).toBe(DarajaErrorKind.OutcomeUnknown);
  });
});
