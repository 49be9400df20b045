import { darajaTimestamp, parseDarajaTimestamp, stkPassword } from '../../src/mpesa/daraja-time';

describe('darajaTimestamp', () => {
  it('formats an instant as YYYYMMDDHHmmss in Kenya time (UTC+3)', () => {
    expect(darajaTimestamp(new Date('2021-06-28T06:24:08Z'))).toBe('20210628092408');
  });

  it('rolls over to the next day in Nairobi before UTC does', () => {
    expect(darajaTimestamp(new Date('2024-12-31T22:30:00Z'))).toBe('20250101013000');
  });

  it('always has 14 digits', () => {
    expect(darajaTimestamp(new Date('2025-01-02T00:00:01Z'))).toMatch(/^\d{14}$/);
  });
});

describe('parseDarajaTimestamp', () => {
  it('reads the number STK callbacks send as Kenya time', () => {
    expect(parseDarajaTimestamp(20191219102115)?.toISOString()).toBe('2019-12-19T07:21:15.000Z');
  });

  it('round-trips with darajaTimestamp', () => {
    const at = new Date('2026-11-26T09:15:42Z');
    expect(parseDarajaTimestamp(darajaTimestamp(at))?.getTime()).toBe(at.getTime());
  });

  it.each(['2019121910211', '20191332102115', '20190230102115', 'abc', ''])('rejects %p', (value) => {
    expect(parseDarajaTimestamp(value)).toBeUndefined();
  });
});

describe('stkPassword', () => {
  it("matches Safaricom's own sample Password for shortcode 174379", () => {
    const passkey = 'bfb279f9aa9bdbcf158e97dd71a467cd2e0c893059b10f78e6b72ada1ed2c919';
    expect(stkPassword('174379', passkey, '20210628092408')).toBe(
      'MTc0Mzc5YmZiMjc5ZjlhYTliZGJjZjE1OGU5N2RkNzFhNDY3Y2QyZTBjODkzMDU5YjEwZjc4ZTZiNzJhZGExZWQyYzkxOTIwMjEwNjI4MDkyNDA4',
    );
  });
});
