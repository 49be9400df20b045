import { maskEmail, maskName, maskPublicName, scrubPersonalData } from '../../src/privacy/personal-data';

describe('personal data masking', () => {
  it('masks a name word by word, and a masked name stays as it is', () => {
    expect(maskName('Jane Wanjiku Doe')).toBe('J*** W*** D***');
    expect(maskName('J*** W*** D***')).toBe('J*** W*** D***');
    expect(maskName('  ')).toBe('***');
  });

  it('masks an email down to its first letter and top-level domain, idempotently', () => {
    expect(maskEmail('jane.doe@example.co.ke')).toBe('j***@***.ke');
    expect(maskEmail('j***@***.ke')).toBe('j***@***.ke');
    expect(maskEmail('not-an-email')).toBe('***');
  });

  it("masks both halves of Daraja's `<MSISDN> - <NAME>` public names", () => {
    expect(maskPublicName('254708374149 - JOHN DOE')).toBe('2547****149 - J*** D***');
    expect(maskPublicName('2547****149 - J*** D***')).toBe('2547****149 - J*** D***');
  });

  it('scrubs B2C result parameters stored by normalised key, keeping amounts and receipts', () => {
    const stored = {
      transactionamount: 500,
      transactionreceipt: 'NLJ41HAY6Q',
      receiverpartypublicname: '254708374149 - JOHN DOE',
      b2cutilityaccountavailablefunds: 10116.0,
    };
    expect(scrubPersonalData(stored)).toEqual({
      transactionamount: 500,
      transactionreceipt: 'NLJ41HAY6Q',
      receiverpartypublicname: '2547****149 - J*** D***',
      b2cutilityaccountavailablefunds: 10116.0,
    });
  });

  it('scrubs Key/Value and Name/Value pairs by their label, leaving the labels alone', () => {
    const callback = {
      ResultParameters: {
        ResultParameter: [
          { Key: 'ReceiverPartyPublicName', Value: '254708374149 - JOHN DOE' },
          { Key: 'TransactionAmount', Value: 10 },
        ],
      },
      CallbackMetadata: {
        Item: [
          { Name: 'PhoneNumber', Value: 254708374149 },
          { Name: 'Amount', Value: 1 },
        ],
      },
    };
    expect(scrubPersonalData(callback)).toEqual({
      ResultParameters: {
        ResultParameter: [
          { Key: 'ReceiverPartyPublicName', Value: '2547****149 - J*** D***' },
          { Key: 'TransactionAmount', Value: 10 },
        ],
      },
      CallbackMetadata: {
        Item: [
          { Name: 'PhoneNumber', Value: '2547****149' },
          { Name: 'Amount', Value: 1 },
        ],
      },
    });
  });

  it('masks names by key and phones and emails anywhere in text, and is idempotent', () => {
    const payload = { customerName: 'Jane Doe', note: 'Reach jane@example.com or 0712345678', amount: 100 };
    const once = scrubPersonalData(payload);
    expect(once).toEqual({ customerName: 'J*** D***', note: 'Reach j***@***.com or 2547****678', amount: 100 });
    expect(scrubPersonalData(once)).toEqual(once);
  });

  it('leaves null and documents without personal data unchanged', () => {
    expect(scrubPersonalData(null)).toBeNull();
    const plain = { ResultCode: 0, ResultDesc: 'The service request is processed successfully.', MpesaReceiptNumber: 'NLJ7RT61SV' };
    expect(scrubPersonalData(plain)).toEqual(plain);
  });
});
