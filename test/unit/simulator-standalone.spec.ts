import { simulatorDatabaseOf } from '../../src/config/configuration';
import { darajaTimestamp } from '../../src/mpesa/daraja-time';
import { methodNotAllowed } from '../../src/mpesa/simulator/daraja-errors';
import { timestampZone } from '../../src/mpesa/simulator/simulator-checks';
import { redactForDisplay, redactSecrets } from '../../src/mpesa/simulator/simulator-recorder';
import { renderSimulatorPage, SimulatorIdentity } from '../../src/mpesa/simulator/standalone/simulator-page';
import { darajaRootRewrite } from '../../src/mpesa/simulator/standalone/start-simulator';

const now = new Date('2026-03-01T09:30:00Z');
/** What `new Date().toISOString()` digits give, the way mpesa-api and many clients build Timestamp. */
const utcDigits = (at: Date) =>
  at
    .toISOString()
    .replace(/[^0-9]/g, '')
    .slice(0, 14);

describe('simulator Timestamp check (SIMULATOR_TIMESTAMP)', () => {
  it('reads Kenya time in both modes', () => {
    expect(timestampZone(darajaTimestamp(now), now, 'strict')).toBe('kenya');
    expect(timestampZone(darajaTimestamp(now), now, 'lenient')).toBe('kenya');
  });

  it('refuses a UTC timestamp when strict and reads it as UTC when lenient', () => {
    expect(timestampZone(utcDigits(now), now, 'strict')).toBeUndefined();
    expect(timestampZone(utcDigits(now), now, 'lenient')).toBe('utc');
  });

  it('refuses a time far from every clock, and what is not a calendar time, even when lenient', () => {
    expect(timestampZone('20200101120000', now, 'lenient')).toBeUndefined();
    expect(timestampZone('20260231093000', now, 'lenient')).toBeUndefined();
    expect(timestampZone('2026030109300', now, 'lenient')).toBeUndefined();
  });
});

describe('simulator redaction (page and recorder)', () => {
  const request = {
    BusinessShortCode: 174379,
    Password: 'MTc0Mzc5YmZi',
    SecurityCredential: 'abc==',
    PhoneNumber: '254708374149',
    PartyA: 254708374149,
    CallBackURL: 'https://app.example/cb?token=s3cret',
    Remarks: 'paid by 254712345678',
  };

  it('replaces secrets and callback query strings in fixtures, and keeps the test numbers', () => {
    expect(redactSecrets(request)).toEqual({
      ...request,
      Password: '<redacted>',
      SecurityCredential: '<redacted>',
      CallBackURL: 'https://app.example/cb?<redacted>',
    });
    expect(redactSecrets({ access_token: 'tok', expires_in: '3599' })).toEqual({ access_token: '<redacted>', expires_in: '3599' });
  });

  it('also masks every phone number for the page', () => {
    expect(redactForDisplay(request)).toMatchObject({
      PhoneNumber: '2547******49',
      PartyA: '2547******49',
      Remarks: 'paid by 2547******78',
      BusinessShortCode: 174379,
    });
  });

  it('escapes what it renders and keeps full numbers out of the calls table', () => {
    const identity = { baseUrl: 'http://127.0.0.1:4000', consumerKey: '<key>' } as SimulatorIdentity;
    const html = renderSimulatorPage(identity, [
      {
        kind: 'call',
        at: '2026-03-01T09:30:00.000Z',
        endpoint: 'stkpush',
        method: 'POST',
        path: '/mpesa/stkpush/v1/processrequest',
        request: { PhoneNumber: '254708374149' },
        answer: { status: 200, body: {} },
      },
    ]);
    expect(html).toContain('&lt;key&gt;');
    const calls = html.slice(html.indexOf('<table id="calls"'));
    expect(calls).toContain('2547******49');
    expect(calls.slice(0, calls.indexOf('</table>'))).not.toContain('254708374149');
  });
});

describe('stand-alone simulator routing', () => {
  it("serves Daraja's root paths through the embedded routes and leaves the rest alone", () => {
    expect(darajaRootRewrite('/oauth/v1/generate?grant_type=client_credentials')).toBe(
      '/simulator/daraja/oauth/v1/generate?grant_type=client_credentials',
    );
    expect(darajaRootRewrite('/mpesa/stkpush/v1/processrequest')).toBe('/simulator/daraja/mpesa/stkpush/v1/processrequest');
    expect(darajaRootRewrite('/pulltransactions/v1/query')).toBe('/simulator/daraja/pulltransactions/v1/query');
    expect(darajaRootRewrite('/simulator/control/calls')).toBe('/simulator/control/calls');
    expect(darajaRootRewrite('/')).toBe('/');
    expect(darajaRootRewrite('/mpesaX')).toBe('/mpesaX');
  });

  it("answers a wrong method in Daraja's 405.001 envelope", () => {
    expect(methodNotAllowed('get')).toMatchObject({ status: 405, body: { errorCode: '405.001', errorMessage: 'GET Method Not Allowed' } });
  });
});

describe('simulator Redis default', () => {
  it("moves the service's Redis URL to the next logical database", () => {
    expect(simulatorDatabaseOf('redis://127.0.0.1:56379')).toBe('redis://127.0.0.1:56379/1');
    expect(simulatorDatabaseOf('redis://:pw@10.0.0.5:6379/3')).toBe('redis://:pw@10.0.0.5:6379/4');
    expect(simulatorDatabaseOf('rediss://cache.example:6380/15')).toBe('rediss://cache.example:6380/0');
  });
});
