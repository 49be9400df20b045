import { classifyDarajaError, classifyNetworkError, DarajaOutcome } from '../../src/mpesa/daraja-errors';

describe('classifyDarajaError', () => {
  it.each([
    // The gateway refused our token: refreshed and resent once by the client; if it still refuses, try later.
    [
      404,
      { requestId: 'x', errorCode: '404.001.03', errorMessage: 'Invalid Access Token' },
      DarajaOutcome.RejectedTransient,
      'invalid_token',
    ],
    [
      401,
      { errorCode: '401.002.01', errorMessage: 'Error Occurred - Invalid Access Token - abc123' },
      DarajaOutcome.RejectedTransient,
      'invalid_token',
    ],
    [400, { errorCode: '400.003.01', errorMessage: 'Invalid Access Token' }, DarajaOutcome.RejectedTransient, 'invalid_token'],
    // Documented "not processed, try later".
    [500, { errorCode: '500.003.02', errorMessage: 'Error Occurred: Spike Arrest Violation' }, DarajaOutcome.RejectedTransient, 'busy'],
    [
      500,
      { errorCode: '500.003.02', errorMessage: 'System is busy. Please try again in few minutes.' },
      DarajaOutcome.RejectedTransient,
      'busy',
    ],
    [500, { errorCode: '500.003.03', errorMessage: 'Quota Violation' }, DarajaOutcome.RejectedTransient, 'busy'],
    [503, 'Request unsuccessful. Incapsula incident ID: 1', DarajaOutcome.RejectedTransient, 'busy'],
    [
      500,
      { fault: { faultstring: 'Spike arrest violation', detail: { errorcode: 'policies.ratelimit.SpikeArrestViolation' } } },
      DarajaOutcome.RejectedTransient,
      'busy',
    ],
    [
      429,
      {
        fault: {
          faultstring: 'Rate limit quota violation. Quota limit exceeded.',
          detail: { errorcode: 'policies.ratelimit.QuotaViolation' },
        },
      },
      DarajaOutcome.RejectedTransient,
      'busy',
    ],
    [429, '', DarajaOutcome.RejectedTransient, 'busy'],
    // Documented refusals that resending will not change.
    [500, { errorCode: '500.001.1001', errorMessage: 'Wrong credentials' }, DarajaOutcome.Rejected, undefined],
    [500, { errorCode: '500.001.1001', errorMessage: 'Merchant does not exist' }, DarajaOutcome.Rejected, undefined],
    [
      500,
      {
        errorCode: '500.001.1001',
        errorMessage: 'Unable to lock subscriber, a transaction is already in process for the current subscriber',
      },
      DarajaOutcome.Rejected,
      'subscriber_busy',
    ],
    [400, { errorCode: '400.002.02', errorMessage: 'Bad Request - Invalid PhoneNumber' }, DarajaOutcome.Rejected, undefined],
    [400, { ErrorCode: '400.002.02', ErrorMessage: 'Bad Request - Invalid Amount' }, DarajaOutcome.Rejected, undefined],
    // Everything else may have been processed.
    [500, { errorCode: '500.001.1001', errorMessage: 'The transaction is being processed' }, DarajaOutcome.Unknown, 'still_processing'],
    [500, { errorCode: '500.003.1001', errorMessage: 'Internal Server Error' }, DarajaOutcome.Unknown, undefined],
    [500, { errorCode: '500.002.1001', errorMessage: 'System internal error.' }, DarajaOutcome.Unknown, undefined],
    [500, { errorCode: '500.001.1001', errorMessage: 'Service is currently under maintenance' }, DarajaOutcome.Unknown, undefined],
    [502, '<html><body><h1>502 Bad Gateway</h1></body></html>', DarajaOutcome.Unknown, 'unreadable_answer'],
    [400, '<html><body>Bad request</body></html>', DarajaOutcome.Unknown, 'unreadable_answer'],
  ])('HTTP %p %j is %p (%p)', (status, body, outcome, reason) => {
    const error = classifyDarajaError(status, body);
    expect(error.outcome).toBe(outcome);
    expect(error.reason).toBe(reason);
  });

  it('resends only what M-Pesa certainly did not process', () => {
    expect(classifyDarajaError(500, { errorCode: '500.003.02', errorMessage: 'Spike Arrest Violation' }).resendable).toBe(true);
    expect(classifyDarajaError(400, { errorCode: '400.002.02', errorMessage: 'Bad Request - Invalid Amount' }).resendable).toBe(false);
    expect(classifyDarajaError(500, { errorCode: '500.003.1001', errorMessage: 'Internal Server Error' }).resendable).toBe(false);
  });
});

describe('classifyNetworkError', () => {
  it('a refused connection was never sent', () => {
    const error = classifyNetworkError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }));
    expect(error.outcome).toBe(DarajaOutcome.NotSent);
    expect(error.resendable).toBe(true);
  });

  it('a TLS failure before the request was written was never sent', () => {
    const error = classifyNetworkError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'CERT_HAS_EXPIRED' } }));
    expect(error.outcome).toBe(DarajaOutcome.NotSent);
  });

  it('a timeout may have been processed', () => {
    const error = classifyNetworkError(Object.assign(new Error('timed out'), { name: 'TimeoutError' }));
    expect(error.outcome).toBe(DarajaOutcome.Unknown);
    expect(error.reason).toBe('timeout');
    expect(error.resendable).toBe(false);
  });

  it('a socket closed mid-request may have been processed', () => {
    const error = classifyNetworkError(Object.assign(new TypeError('fetch failed'), { cause: { code: 'UND_ERR_SOCKET' } }));
    expect(error.outcome).toBe(DarajaOutcome.Unknown);
    expect(error.reason).toBe('connection_dropped');
  });
});
