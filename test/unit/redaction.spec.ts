import { redact, redactText } from '../../src/common/redaction';

describe('redact', () => {
  it('removes the STK Password and masks phone fields', () => {
    expect(redact({ Password: 'MTc0Mzc5', PartyA: 254708374149, PhoneNumber: '254708374149', Amount: 10 })).toEqual({
      Password: '[REDACTED]',
      PartyA: '2547****149',
      PhoneNumber: '2547****149',
      Amount: 10,
    });
  });

  it('removes tokens from OAuth answers and Daraja error text', () => {
    expect(redact({ access_token: 'c9SQxWWhmdVRlyh0zh8gZDTkubVF', expires_in: '3599' })).toEqual({ access_token: '[REDACTED]', expires_in: '3599' });
    expect(redactText('Error Occurred - Invalid Access Token - c9SQxWWhmdVRlyh0zh8gZDTkubVF')).toBe('Error Occurred - Invalid Access Token - [REDACTED]');
  });

  it('masks phone numbers inside free text and callback items', () => {
    expect(redactText('call me on 0708374149 or +254708374149')).toBe('call me on 2547****149 or 2547****149');
    expect(redact({ Item: [{ Name: 'PhoneNumber', Value: 254708374149 }] })).toEqual({ Item: [{ Name: 'PhoneNumber', Value: '2547****149' }] });
  });

  it('strips the callback token from URLs', () => {
    expect(redactText('https://x.test/api/payments/mpesa/stk-callback?pid=abc&token=s3cr3t')).toBe(
      'https://x.test/api/payments/mpesa/stk-callback?pid=abc&token=[REDACTED]',
    );
  });
});
