import { redact } from '../../src/common/redaction';
import {
  classifyDarajaError,
  DarajaConfigurationError,
  DarajaOutcome,
  isDuplicateOriginatorConversationId,
} from '../../src/mpesa/daraja-errors';

describe('classifyDarajaError (money out)', () => {
  it('a duplicate OriginatorConversationID is an unknown outcome (an earlier request arrived) that keeps its code', () => {
    const error = classifyDarajaError(500, {
      requestId: '1c5b-4ba8-815c-ac45c57a3db01469899',
      errorCode: '500.002.1001',
      errorMessage: 'Duplicate OriginatorConversationID.',
    });
    expect(error.outcome).toBe(DarajaOutcome.Unknown);
    expect(error.errorCode).toBe('500.002.1001');
    expect(error.resendable).toBe(false);
    expect(isDuplicateOriginatorConversationId(error)).toBe(true);
  });

  it('the same code with "System internal error" is an unknown outcome, never resent', () => {
    const error = classifyDarajaError(500, {
      requestId: '30937-36662169-1',
      errorCode: '500.002.1001',
      errorMessage: 'System internal error.',
    });
    expect(error.outcome).toBe(DarajaOutcome.Unknown);
    expect(error.resendable).toBe(false);
    expect(isDuplicateOriginatorConversationId(error)).toBe(false);
  });

  it.each([
    [400, { errorCode: '400.002.02', errorMessage: 'Bad Request - Invalid SecurityCredential' }],
    [400, { errorCode: '400.002.02', errorMessage: 'Bad Request - Invalid InitiatorName' }],
    [400, { requestId: '26324-120939857-1', errorCode: '400.002.02', errorMessage: 'Bad Request - Invalid RecieverIdentifierType' }],
  ])('HTTP %p %j is a refusal', (status, body) => {
    expect(classifyDarajaError(status, body).outcome).toBe(DarajaOutcome.Rejected);
  });

  it("B2C and Balance's invalid-token code still means refresh and resend", () => {
    expect(classifyDarajaError(401, { errorCode: '401.002.01', errorMessage: 'Error Occurred - Invalid Access Token - abc' }).reason).toBe(
      'invalid_token',
    );
  });
});

describe(DarajaConfigurationError.name, () => {
  it('is a final refusal naming the variables, never retried', () => {
    const error = new DarajaConfigurationError('MPESA_INITIATOR_NAME is not set', ['MPESA_INITIATOR_NAME']);
    expect(error.outcome).toBe(DarajaOutcome.Rejected);
    expect(error.resendable).toBe(false);
    expect(error.variables).toEqual(['MPESA_INITIATOR_NAME']);
    expect(isDuplicateOriginatorConversationId(error)).toBe(false);
  });
});

describe('redact (initiator requests)', () => {
  it('hides the SecurityCredential and the customer, keeps the initiator', () => {
    const out = redact({ InitiatorName: 'testapi', Initiator: 'testapi', SecurityCredential: 'abc==', PartyB: 254705912645, Amount: 10 });
    expect(out).toEqual({
      InitiatorName: 'testapi',
      Initiator: 'testapi',
      SecurityCredential: '[REDACTED]',
      PartyB: '2547****645',
      Amount: 10,
    });
  });
});
