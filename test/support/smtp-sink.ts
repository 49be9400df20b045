// A local SMTP server (the `smtp-server` package) that stands in for the mail provider of SMTP_URL and records
// every message the app sends, decoded enough to read what the client would.
//
//   const mail = await SmtpSink.start();             // on a free port: mail.port
//   ... start the app with SMTP_URL=smtp://user:pass@127.0.0.1:${mail.port}
//   const email = await mail.waitFor((m) => m.to.includes('client@example.com'));
import { AddressInfo } from 'node:net';
import { SMTPServer, SMTPServerAddress } from 'smtp-server';

export interface ReceivedEmail {
  /** Envelope sender and recipients (MAIL FROM / RCPT TO). */
  from: string;
  to: string[];
  /** The user the client authenticated as, if it did. */
  authUser?: string;
  /** Lower-case header names, unfolded and decoded. */
  headers: Record<string, string>;
  subject: string;
  /** The text/plain and text/html parts, transfer-decoded. */
  text: string;
  html: string;
  /** The message as it arrived. */
  raw: string;
}

/** Decides how RCPT TO is answered: undefined accepts, a number rejects with that SMTP code. */
export type RecipientResponder = (address: string) => number | undefined;

export class SmtpSink {
  readonly received: ReceivedEmail[] = [];
  /** Every RCPT TO, accepted or not. */
  readonly recipients: string[] = [];
  private responder: RecipientResponder = () => undefined;

  private constructor(private readonly server: SMTPServer) {}

  static async start(credentials = { user: 'mailer', pass: 'mailer-pass' }, port = 0): Promise<SmtpSink> {
    let sink!: SmtpSink;
    const server = new SMTPServer({
      secure: false,
      disabledCommands: ['STARTTLS'],
      // Plain-text AUTH over a local socket, so that SMTP_URL's user:pass is really checked.
      allowInsecureAuth: true,
      authOptional: true,
      logger: false,
      onAuth(auth, _session, callback) {
        if (auth.username === credentials.user && auth.password === credentials.pass) callback(null, { user: auth.username });
        else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      },
      onRcptTo(address: SMTPServerAddress, _session, callback) {
        sink.recipients.push(address.address);
        const code = sink.responder(address.address);
        if (code === undefined) callback();
        else callback(Object.assign(new Error(`Mailbox ${address.address} unavailable`), { responseCode: code }));
      },
      onData(stream, session, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const raw = Buffer.concat(chunks).toString('utf8');
          const envelopeFrom = session.envelope.mailFrom;
          sink.received.push({
            from: envelopeFrom ? envelopeFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            authUser: typeof session.user === 'string' ? session.user : undefined,
            ...parseMessage(raw),
            raw,
          });
          callback();
        });
      },
    });
    sink = new SmtpSink(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return sink;
  }

  get port(): number {
    return ((this.server as unknown as { server: { address(): AddressInfo } }).server.address() as AddressInfo).port;
  }

  /** Changes how later recipients are answered, e.g. `() => 550` for a mailbox that does not exist. */
  respondWith(responder: RecipientResponder): void {
    this.responder = responder;
  }

  async waitFor(predicate: (mail: ReceivedEmail) => boolean, timeoutMs = 20_000): Promise<ReceivedEmail> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.received.find(predicate);
      if (hit) return hit;
      if (Date.now() >= deadline) throw new Error(`SmtpSink: no matching email within ${timeoutMs} ms (${this.received.length} received)`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

interface Entity {
  headers: Record<string, string>;
  body: string;
}

function splitEntity(raw: string): Entity {
  const at = raw.indexOf('\r\n\r\n');
  const head = at < 0 ? raw : raw.slice(0, at);
  const body = at < 0 ? '' : raw.slice(at + 4);
  const headers: Record<string, string> = {};
  for (const line of head.replace(/\r\n[ \t]+/g, ' ').split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { headers, body };
}

function decodeQuotedPrintable(text: string): string {
  const bytes: number[] = [];
  const soft = text.replace(/=\r?\n/g, '');
  for (let i = 0; i < soft.length; i++) {
    if (soft[i] === '=' && /^[0-9A-Fa-f]{2}$/.test(soft.slice(i + 1, i + 3))) {
      bytes.push(parseInt(soft.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(...Buffer.from(soft[i], 'utf8'));
  }
  return Buffer.from(bytes).toString('utf8');
}

function decodeBody(entity: Entity): string {
  const encoding = (entity.headers['content-transfer-encoding'] ?? '7bit').toLowerCase();
  if (encoding === 'quoted-printable') return decodeQuotedPrintable(entity.body);
  if (encoding === 'base64') return Buffer.from(entity.body.replace(/\s+/g, ''), 'base64').toString('utf8');
  return entity.body;
}

/** RFC 2047 encoded words (`=?UTF-8?Q?...?=`, `=?UTF-8?B?...?=`) in a header. */
function decodeHeader(value: string): string {
  return value.replace(/=\?([^?]+)\?([QqBb])\?([^?]*)\?=\s*/g, (_m, _charset: string, kind: string, data: string) =>
    kind.toUpperCase() === 'B' ? Buffer.from(data, 'base64').toString('utf8') : decodeQuotedPrintable(data.replace(/_/g, ' ')),
  );
}

function parseMessage(raw: string): Pick<ReceivedEmail, 'headers' | 'subject' | 'text' | 'html'> {
  const message = splitEntity(raw);
  const headers = Object.fromEntries(Object.entries(message.headers).map(([k, v]) => [k, decodeHeader(v)]));
  const parts: Entity[] = [];
  const collect = (entity: Entity) => {
    const type = entity.headers['content-type'] ?? 'text/plain';
    const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
    if (/^multipart\//i.test(type) && boundary) {
      const sections = entity.body.split(`--${boundary}`).slice(1);
      for (const section of sections) {
        if (section.startsWith('--')) break;
        collect(splitEntity(section.replace(/^\r\n/, '')));
      }
    } else parts.push(entity);
  };
  collect(message);
  const partOf = (type: RegExp) => {
    const part = parts.find((p) => type.test(p.headers['content-type'] ?? 'text/plain'));
    return part ? decodeBody(part).replace(/\r\n$/, '') : '';
  };
  return { headers, subject: headers.subject ?? '', text: partOf(/^text\/plain/i), html: partOf(/^text\/html/i) };
}
