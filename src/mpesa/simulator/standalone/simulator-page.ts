import { JournalEntry, redactForDisplay } from '../simulator-recorder';
import { B2C_SCENARIOS, C2B_SCENARIOS, REVERSAL_REFUSED_AMOUNT, STK_SCENARIOS } from '../simulator-scenarios';

/** What the page tells a developer to put in their Daraja client. */
export interface SimulatorIdentity {
  baseUrl: string;
  consumerKey: string;
  consumerSecret: string;
  shortcode: string;
  passkey: string;
  initiatorName: string;
  initiatorPassword: string;
  certificatePath: string;
  timestampMode: string;
  storage: string;
}

const escape = (value: unknown): string =>
  String(value).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

const json = (value: unknown) => `<pre>${escape(JSON.stringify(redactForDisplay(value), null, 2))}</pre>`;

function table(headers: string[], rows: string[][], id: string): string {
  const head = headers.map((h) => `<th>${escape(h)}</th>`).join('');
  const body = rows.length
    ? rows.map((r) => `<tr>${r.map((cell) => `<td>${cell}</td>`).join('')}</tr>`).join('\n')
    : `<tr><td colspan="${headers.length}">none yet</td></tr>`;
  return `<table id="${id}"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/**
 * The stand-alone simulator's home page, rendered on the server with no script: credentials, the test numbers, the
 * calls it received and the callbacks it sent (newest first). Calls and callbacks pass through redactForDisplay:
 * no Password, SecurityCredential, token or callback query string, and phone numbers cut to `2547******49`.
 */
export function renderSimulatorPage(identity: SimulatorIdentity, journal: JournalEntry[]): string {
  const credentials: [string, string][] = [
    ['Base URL', identity.baseUrl],
    ['Consumer key', identity.consumerKey],
    ['Consumer secret', identity.consumerSecret],
    ['Shortcode (BusinessShortCode, PartyA, PartyB)', identity.shortcode],
    ['Passkey (STK Password)', identity.passkey],
    ['Initiator name', identity.initiatorName],
    ['Initiator password', identity.initiatorPassword],
    ['Certificate to encrypt the SecurityCredential', identity.certificatePath],
    ['Timestamp check (SIMULATOR_TIMESTAMP)', identity.timestampMode],
    ['Storage', identity.storage],
  ];
  const calls = journal.filter((e) => e.kind === 'call');
  const callbacks = journal.filter((e) => e.kind === 'callback');
  const numbers = [
    ...STK_SCENARIOS.map((s) => ['STK push (PhoneNumber)', s.phone ?? '', s.summary]),
    ...B2C_SCENARIOS.map((s) => ['B2C (PartyB)', s.phone ?? '', s.summary]),
    ...C2B_SCENARIOS.map((s) => ['C2B simulate (Msisdn)', s.phone ?? '', s.summary]),
    ['Reversal (Amount)', String(REVERSAL_REFUSED_AMOUNT), 'accepted, then refused in the result with R000002'],
  ];

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Daraja simulator</title>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 2em; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
pre { margin: 0; max-width: 60em; white-space: pre-wrap; word-break: break-all; font-size: 12px; }
code { background: #f3f3f3; padding: 0 3px; }
</style>
</head>
<body>
<h1>Daraja simulator</h1>
<p>Safaricom's Daraja paths at this root: point a client's base URL at <code>${escape(identity.baseUrl)}</code>.
Control API under <code>/simulator/control</code> (faults, calls, reset, recorder).</p>
<h2>Credentials</h2>
${table(
  ['Setting', 'Value'],
  credentials.map(([k, v]) => [escape(k), `<code>${escape(v)}</code>`]),
  'credentials',
)}
<h2>Test numbers</h2>
${table(
  ['API', 'Number', 'What happens'],
  numbers.map(([api, n, what]) => [escape(api), `<code>${escape(n)}</code>`, escape(what)]),
  'test-numbers',
)}
<h2>Calls received (${calls.length}, newest first)</h2>
${table(
  ['At', 'Call', 'Request', 'Answer'],
  calls.map((c) => [
    escape(c.at),
    `${escape(c.method)} <code>${escape(c.path)}</code>`,
    json(c.request),
    `${escape(c.answer.status)} ${json(c.answer.body ?? null)}`,
  ]),
  'calls',
)}
<h2>Callbacks sent (${callbacks.length}, newest first)</h2>
${table(
  ['At', 'Callback', 'Payload', 'Their answer'],
  callbacks.map((c) => [
    escape(c.at),
    `${escape(c.label)}<br><code>${escape(redactForDisplay(c.url))}</code>`,
    json(c.payload),
    c.answer.failure
      ? `failed: ${escape(c.answer.failure)}${c.answer.status ? ` ${json(c.answer.body ?? null)}` : ''}`
      : `${escape(c.answer.status)} ${json(c.answer.body ?? null)}`,
  ]),
  'callbacks',
)}
</body>
</html>
`;
}
