// Stands in for LegalPro's webhook endpoint (WEBHOOK_URL) and records what the app sends it.
//
//   const hooks = await WebhookReceiver.start();
//   afterAll(() => hooks.stop());
//   const hook = await hooks.waitFor((h) => h.body?.paymentId === id);
import { createServer, IncomingHttpHeaders, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { e2e } from './app';

export interface ReceivedWebhook {
  method: string;
  /** Path and query, e.g. /webhooks/legalpro */
  path: string;
  /** Lower-case names, as node gives them. */
  headers: IncomingHttpHeaders;
  /** The exact bytes as text: verify signatures over this, not over re-serialised JSON. */
  rawBody: string;
  /** Parsed JSON, or undefined when the body is not JSON. */
  body: any;
  receivedAt: Date;
}

/** Decides the reply; the default answers 200. Return e.g. 500 to exercise the app's retries. */
export type WebhookResponder = (hook: ReceivedWebhook, attempt: number) => number | { status: number; body?: unknown; delayMs?: number };

export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  private responder: WebhookResponder = () => 200;

  private constructor(private readonly server: Server) {}

  /** Listens on WEBHOOK_URL's port (reserved by global-setup) unless another port is given. */
  static async start(port: number = e2e().webhookPort): Promise<WebhookReceiver> {
    let receiver!: WebhookReceiver;
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const rawBody = Buffer.concat(chunks).toString('utf8');
        let body: unknown;
        try {
          body = rawBody ? JSON.parse(rawBody) : undefined;
        } catch {
          body = undefined;
        }
        const hook: ReceivedWebhook = {
          method: req.method ?? 'GET',
          path: req.url ?? '/',
          headers: req.headers,
          rawBody,
          body,
          receivedAt: new Date(),
        };
        receiver.received.push(hook);
        let reply: ReturnType<WebhookResponder>;
        try {
          reply = receiver.responder(hook, receiver.received.length);
        } catch {
          reply = 500;
        }
        const { status, body: replyBody, delayMs } = typeof reply === 'number' ? { status: reply, body: { ok: status2xx(reply) } } : reply;
        const answer = (): void => {
          if (res.destroyed) return; // the sender gave up or died meanwhile
          res.writeHead(status, { 'content-type': 'application/json' });
          res.end(JSON.stringify(replyBody ?? {}));
        };
        if (delayMs) setTimeout(answer, delayMs);
        else answer();
      });
    });
    receiver = new WebhookReceiver(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(e.code === 'EADDRINUSE' ? new Error(`WebhookReceiver: port ${port} is in use (is another receiver still running?)`) : e),
      );
      server.listen(port, '127.0.0.1', () => resolve());
    });
    return receiver;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Changes how later deliveries are answered. */
  respondWith(responder: WebhookResponder | number): void {
    this.responder = typeof responder === 'number' ? () => responder : responder;
  }

  clear(): void {
    this.received.length = 0;
  }

  /** Resolves with the first delivery (already received or later) for which `predicate` holds. */
  async waitFor(predicate: (hook: ReceivedWebhook) => boolean = () => true, timeoutMs = 15_000): Promise<ReceivedWebhook> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.received.find(predicate);
      if (hit) return hit;
      if (Date.now() >= deadline) {
        throw new Error(`WebhookReceiver: no matching webhook within ${timeoutMs} ms (${this.received.length} received)`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

const status2xx = (status: number) => status >= 200 && status < 300;
