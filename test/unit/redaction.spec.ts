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
    expect(redact({ access_token: 'c9SQxWWhmdVRlyh0zh8gZDTkubVF', expires_in: '3599' })).toEqual({
      access_token: '[REDACTED]',
      expires_in: '3599',
    });
    expect(redactText('Error Occurred - Invalid Access Token - c9SQxWWhmdVRlyh0zh8gZDTkubVF')).toBe(
      'Error Occurred - Invalid Access Token - [REDACTED]',
    );
  });

  it('masks phone numbers inside free text and callback items', () => {
    expect(redactText('call me on 0708374149 or +254708374149')).toBe('call me on 2547****149 or 2547****149');
    expect(redact({ Item: [{ Name: 'PhoneNumber', Value: 254708374149 }] })).toEqual({
      Item: [{ Name: 'PhoneNumber', Value: '2547****149' }],
    });
  });

  it("leaves M-Pesa's ids alone when a phone-like run of digits sits inside them", () => {
    const checkout = 'ws_CO_05122026225401254712345678';
    expect(redactText(`CheckoutRequestID ${checkout} for 254712345678`)).toBe(`CheckoutRequestID ${checkout} for 2547****678`);
    expect(redact({ CheckoutRequestID: checkout, MerchantRequestID: '29115-34620561-1' })).toEqual({
      CheckoutRequestID: checkout,
      MerchantRequestID: '29115-34620561-1',
    });
  });

  it('strips the callback token from URLs', () => {
    expect(redactText('https://x.test/api/payments/mpesa/stk-callback?pid=abc&token=s3cr3t')).toBe(
      'https://x.test/api/payments/mpesa/stk-callback?pid=abc&token=[REDACTED]',
    );
  });
});

describe('redact: Daraja payloads and secrets', () => {
  it('masks the phone and the name in ReceiverPartyPublicName, whether a result item or a parsed field', () => {
    const item = redact({
      ResultParameter: [
        { Key: 'ReceiverPartyPublicName', Value: '254722000000 - John Doe' },
        { Key: 'TransactionAmount', Value: 10 },
      ],
    });
    expect(item).toEqual({
      ResultParameter: [
        { Key: 'ReceiverPartyPublicName', Value: '2547****000 - J*** D**' },
        { Key: 'TransactionAmount', Value: 10 },
      ],
    });
    expect(redact({ receiverpartypublicname: '254722000000 - John Doe', CreditPartyName: '0722000000 - Jane Wanjiru' })).toEqual({
      receiverpartypublicname: '2547****000 - J*** D**',
      CreditPartyName: '2547****000 - J*** W******',
    });
  });

  it('masks B2C PartyB and STK CallbackMetadata phone numbers given as numbers or strings', () => {
    expect(redact({ PartyA: '600000', PartyB: 254722000000 })).toEqual({ PartyA: '******', PartyB: '2547****000' });
    expect(
      redact({
        Item: [
          { Name: 'PhoneNumber', Value: '254722000000' },
          { Name: 'Amount', Value: 1 },
        ],
      }),
    ).toEqual({
      Item: [
        { Name: 'PhoneNumber', Value: '2547****000' },
        { Name: 'Amount', Value: 1 },
      ],
    });
  });

  it.each([
    'ConsumerKey',
    'consumer_key',
    'consumerSecret',
    'Password',
    'SecurityCredential',
    'initiatorPassword',
    'passkey',
    'access_token',
    'Authorization',
    'apiKey',
  ])('replaces the value of %s', (key) => {
    expect(redact({ [key]: 'value-0123456789', other: 'kept' })).toEqual({ [key]: '[REDACTED]', other: 'kept' });
  });

  it('keeps an error readable (message and stack, redacted) instead of dropping them', () => {
    const copy = redact(new TypeError('Invalid PhoneNumber 254722000000')) as unknown as Record<string, string>;
    expect(copy).toMatchObject({ type: 'TypeError', message: 'Invalid PhoneNumber 2547****000' });
    expect(copy.stack).toContain('2547****000');
    expect(copy.stack).not.toContain('254722000000');
  });

  it('leaves dates as they are', () => {
    const at = new Date('2026-11-26T10:00:00Z');
    expect(redact({ at })).toEqual({ at });
  });
});

describe('redactText', () => {
  it.each([
    ['+254 722 000 000', '2547****000'],
    ['0722-000-000', '2547****000'],
    ['254122000000', '2541****000'],
    ['tel:0722000000.', 'tel:2547****000.'],
  ])('masks the phone number %s', (text, masked) => {
    expect(redactText(text)).toBe(masked);
  });

  it('removes bearer and basic credentials', () => {
    expect(redactText('Authorization: Bearer c9SQxWWhmdVRlyh0zh8gZDTkubVF')).toBe('Authorization: Bearer [REDACTED]');
    expect(redactText('Basic c2ltdWxhdG9yLWNvbnN1bWVyLWtleTpzZWNyZXQ=')).toBe('Basic [REDACTED]');
  });

  it('removes secret values from JSON or form text', () => {
    expect(redactText('{"access_token":"c9SQxWWhmdVRlyh0zh8gZDTkubVF","expires_in":"3599"}')).toBe(
      '{"access_token":"[REDACTED]","expires_in":"3599"}',
    );
    expect(redactText('{"SecurityCredential":"abc+/=","Password":"MTc0Mzc5"}')).toBe(
      '{"SecurityCredential":"[REDACTED]","Password":"[REDACTED]"}',
    );
  });

  it('leaves messages that only name a secret or a token', () => {
    expect(redactText('MPESA_PASSKEY: must be set in production')).toBe('MPESA_PASSKEY: must be set in production');
    expect(redactText('Missing bearer token')).toBe('Missing bearer token');
  });

  it('leaves ids, amounts and receipts alone', () => {
    const text = 'payment 5f0c2a1e-8d4b-4c7e-9a43-1b2c3d4e5f60 KES 1500 receipt NLJ7RT61SV at 20261126143015';
    expect(redactText(text)).toBe(text);
  });
});

describe('redactText: the one-scan check before the replacements', () => {
  it('still finds each kind of secret and phone number when it is the only one in the text', () => {
    expect(redactText('Invalid Access Token - abc123')).toBe('Invalid Access Token - [REDACTED]');
    expect(redactText('sent Bearer abcdefghijklmnop')).toBe('sent Bearer [REDACTED]');
    expect(redactText('GET /cb?token=abc')).toBe('GET /cb?token=[REDACTED]');
    expect(redactText('{"Password":"c2VjcmV0"}')).toBe('{"Password":"[REDACTED]"}');
    expect(redactText('call 0722000000 now')).not.toContain('0722000000');
    expect(redactText('CALL +254 722 000 000')).not.toContain('722 000 000');
  });

  it('returns text with nothing to redact unchanged', () => {
    const text = 'Success. Request accepted for processing ws_CO_06122026101010254722000000 KES 1500';
    expect(redactText(text)).toBe(text);
  });
});

describe('names in statements and Pull transactions', () => {
  it('masks the name written after a number in a narration, up to "Acc", and leaves a masked one as it is', () => {
    expect(redactText('Pay Bill from 2547****123 - JANE DOE Acc. 42')).toBe('Pay Bill from 2547****123 - J*** D** Acc. 42');
    expect(redactText('Customer Transfer to 254722000123 - John Kamau Doe')).toBe('Customer Transfer to 2547****123 - J*** K**** D**');
    expect(redactText("Merchant Payment from 07****0123 - MARY-ANNE O'NEIL")).toBe('Merchant Payment from 07****0123 - M****** O*****');
    for (const text of ['Pay Bill from 2547****123 - J*** D** Acc. 42', 'Customer Transfer to 2547****123 - J*** K**** D**']) {
      expect(redactText(text)).toBe(text);
    }
  });

  it("leaves M-Pesa's ids, shortcodes and amounts alone", () => {
    for (const text of [
      'Receipt ws_CO_06122026101010254722000 amount 1500.00',
      'Pay Bill to 174379 - LEGALPRO ADVOCATES',
      'SLK4H7R2P9 - 1,500.00',
    ]) {
      expect(redactText(text)).toBe(text);
    }
  });

  it("masks a statement row's Other Party Info and Details and a Pull transaction's sender, idempotently", () => {
    const row = {
      'Receipt No.': 'SLK4H7R2P9',
      'Other Party Info': '2547****123 - JANE DOE',
      Details: 'Pay Bill Online from 2547****123 - JANE DOE Acc. 42',
      'Paid In': '1500.00',
    };
    const pulled = { transactionId: 'SLK4H7R2P9', msisdn: '254722000123', sender: 'JANE DOE', amount: 1500, organizationName: 'LegalPro' };
    expect(redact(row)).toEqual({
      'Receipt No.': 'SLK4H7R2P9',
      'Other Party Info': '2547****123 - J*** D**',
      Details: 'Pay Bill Online from 2547****123 - J*** D** Acc. 42',
      'Paid In': '1500.00',
    });
    expect(redact(pulled)).toEqual({ ...pulled, msisdn: '2547****123', sender: 'J*** D**' });
    expect(redact(redact(row))).toEqual(redact(row));
    expect(redact(redact(pulled))).toEqual(redact(pulled));
  });
});
