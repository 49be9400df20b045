import { maskPhone, normalizeKenyanPhone } from '../../src/common/phone-number';

describe('normalizeKenyanPhone', () => {
  it.each([
    ['0708374149', '254708374149'],
    ['0110123456', '254110123456'],
    ['254708374149', '254708374149'],
    ['254110123456', '254110123456'],
    ['+254708374149', '254708374149'],
    ['+254 708 374 149', '254708374149'],
    ['0708-374-149', '254708374149'],
    ['708374149', '254708374149'],
  ])('accepts %p as %p', (input, expected) => {
    expect(normalizeKenyanPhone(input)).toBe(expected);
  });

  it.each([
    '',
    '12345',
    '0808374149',
    '255708374149',
    '+0708374149',
    '07083741490',
    '25470837414',
    'phone',
    '254708374149; DROP',
    null,
    undefined,
    {},
  ])('rejects %p', (input) => {
    expect(normalizeKenyanPhone(input)).toBeUndefined();
  });
});

describe('maskPhone', () => {
  it('keeps the country prefix and the last three digits', () => {
    expect(maskPhone('254708374149')).toBe('2547****149');
  });
});
