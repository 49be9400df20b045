import { b2cOutcome, reversalOutcome, transactionStatusState } from '../../src/mpesa/daraja-result-codes';

describe('b2cOutcome', () => {
  it('0 is paid', () => {
    expect(b2cOutcome('0')).toMatchObject({ outcome: 'completed', retryable: false });
  });

  it.each(['17', '2029', '26'])('%s failed, and a new request may succeed later', (code) => {
    expect(b2cOutcome(code)).toMatchObject({ outcome: 'failed', retryable: true });
  });

  it.each(['1', '2', '3', '4', '8', '11', '21', '2001', '2006', '2028', '2040', '8006', 'SFC_IC0003'])(
    '%s failed until someone acts',
    (code) => {
      const outcome = b2cOutcome(code);
      expect(outcome).toMatchObject({ outcome: 'failed', retryable: false });
      expect(outcome.meaning).toBeTruthy();
    },
  );

  it('15 is a duplicate: it says nothing about whether the first request paid', () => {
    expect(b2cOutcome('15')).toMatchObject({ outcome: 'duplicate', retryable: false });
  });

  it('an unknown code is a final failure with no meaning', () => {
    expect(b2cOutcome('100000004')).toEqual({ outcome: 'failed', retryable: false });
  });

  it('explains the codes operators meet most', () => {
    expect(b2cOutcome('1').meaning).toMatch(/Utility/);
    expect(b2cOutcome('2001').meaning).toMatch(/certificate/);
  });
});

describe('reversalOutcome', () => {
  it.each([
    ['0', 'reversed'],
    ['R000001', 'already_reversed'],
    ['R000002', 'failed'],
    ['2001', 'failed'],
    ['999', 'failed'],
  ])('%s is %s', (code, outcome) => {
    expect(reversalOutcome(code).outcome).toBe(outcome);
  });
});

describe('transactionStatusState', () => {
  it.each([
    ['Completed', 'completed'],
    ['Cancelled', 'failed'],
    ['Declined', 'failed'],
    ['Expired', 'failed'],
    ['Initiated', 'pending'],
    ['Authorized', 'pending'],
    ['Pending', 'pending'],
    [undefined, 'unknown'],
    ['Something new', 'unknown'],
  ])('%p is %p', (status, state) => {
    expect(transactionStatusState(status)).toBe(state);
  });
});
