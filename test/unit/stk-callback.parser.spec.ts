import { parseStkCallback } from '../../src/payments/stk-callback.parser';
import { darajaFixture, stkFailureCallback } from '../fixtures/daraja';

/** §3.1: D-STK's sample with the `Balance` item production callbacks carry. */
const success = darajaFixture('stk-callback-success');

describe('parseStkCallback', () => {
  it("reads Safaricom's documented success payload, items by name", () => {
    const result = parseStkCallback(success);
    expect(result).toEqual({
      ok: true,
      value: {
        merchantRequestId: '29115-34620561-1',
        checkoutRequestId: 'ws_CO_191220191020363925',
        resultCode: '0',
        resultDesc: 'The service request is processed successfully.',
        amount: 1,
        receiptNumber: 'NLJ7RT61SV',
        transactionDate: new Date('2019-12-19T07:21:15.000Z'),
        phoneNumber: '254708374149',
      },
    });
  });

  it('does not depend on the order of the items', () => {
    const shuffled = structuredClone(success);
    shuffled.Body.stkCallback.CallbackMetadata.Item.reverse();
    expect(parseStkCallback(shuffled)).toMatchObject({ ok: true, value: { receiptNumber: 'NLJ7RT61SV', amount: 1 } });
  });

  it('reads a failure without metadata and strips the legacy tag', () => {
    const result = parseStkCallback(
      stkFailureCallback({
        merchantRequestId: 'f1e2-4b95',
        checkoutRequestId: 'ws_CO_2107',
        resultDesc: '[STK_CB - ]Request cancelled by user',
      }),
    );
    expect(result).toEqual({
      ok: true,
      value: {
        merchantRequestId: 'f1e2-4b95',
        checkoutRequestId: 'ws_CO_2107',
        resultCode: '1032',
        resultDesc: 'Request cancelled by user',
      },
    });
  });

  it('accepts a string result code such as SFC_IC0003', () => {
    const result = parseStkCallback(darajaFixture('stk-callback-operator-does-not-exist'));
    expect(result).toMatchObject({ ok: true, value: { resultCode: 'SFC_IC0003' } });
  });

  it.each([
    [{}, 'Body.stkCallback is missing'],
    [{ Body: { stkCallback: { MerchantRequestID: 'a', ResultCode: 0 } } }, 'CheckoutRequestID is missing or malformed'],
    [{ Body: { stkCallback: { MerchantRequestID: 'a', CheckoutRequestID: 'ws_CO_1' } } }, 'ResultCode is missing'],
    [
      { Body: { stkCallback: { MerchantRequestID: 'a', CheckoutRequestID: 'ws_CO_1', ResultCode: 0, ResultDesc: 'ok' } } },
      'CallbackMetadata.Item is missing on a successful callback',
    ],
  ])('rejects %j: %s', (body, reason) => {
    expect(parseStkCallback(body)).toEqual({ ok: false, reason });
  });

  it('rejects a success without a receipt number', () => {
    const noReceipt = structuredClone(success);
    noReceipt.Body.stkCallback.CallbackMetadata.Item = noReceipt.Body.stkCallback.CallbackMetadata.Item.filter(
      (i) => i.Name !== 'MpesaReceiptNumber',
    );
    expect(parseStkCallback(noReceipt)).toEqual({ ok: false, reason: 'MpesaReceiptNumber is missing or malformed' });
  });
});
