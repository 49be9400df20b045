import { Inject, Injectable, OnModuleDestroy } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Agent, Dispatcher } from 'undici';
import { mpesaConfig } from '../config/configuration';

/** One HTTP exchange with Daraja, as the client and the token service need it: no streams, no WHATWG objects. */
export interface DarajaHttpRequest {
  method: 'GET' | 'POST';
  /** Path and query under MPESA_BASE_URL, e.g. `/mpesa/stkpush/v1/processrequest`. */
  path: string;
  headers: Record<string, string>;
  /** The JSON text to send (POST). */
  body?: string;
}

export interface DarajaHttpAnswer {
  status: number;
  /** The body as text (Daraja's answers are small JSON documents, or an HTML page from a gateway). */
  text: string;
  /** The `Date` header, when Daraja sent one (the token service records the clock skew from it). */
  date: string | null;
}

/** Idle keep-alive sockets are closed after this long; Daraja's gateway closes idle connections itself after ~60 s. */
const KEEP_ALIVE_TIMEOUT_MS = 30_000;
/** Sockets per origin; more than the busiest process has calls in flight under the fleet's call budget. */
const CONNECTIONS_PER_ORIGIN = 128;

/**
 * The HTTP transport to Daraja: an undici Agent with keep-alive, shared by every Daraja call of the process. Node's
 * global `fetch` did the same exchange through the WHATWG layer (Request, Headers, web streams, AbortSignal), which
 * was about a fifth of the API process's CPU per STK push in the profile (docs/performance.md).
 *
 * Errors are undici's own (`code` ECONNREFUSED, UND_ERR_CONNECT_TIMEOUT, UND_ERR_SOCKET...), and a request past
 * MPESA_HTTP_TIMEOUT_MS is aborted with a `TimeoutError`, as fetch's were: `classifyNetworkError` reads both.
 */
@Injectable()
export class DarajaHttp implements OnModuleDestroy {
  private readonly agent: Agent;
  private readonly origin: string;
  private readonly basePath: string;

  constructor(@Inject(mpesaConfig.KEY) private readonly settings: Pick<ConfigType<typeof mpesaConfig>, 'baseUrl' | 'httpTimeoutMs'>) {
    const base = new URL(settings.baseUrl);
    this.origin = base.origin;
    this.basePath = base.pathname.replace(/\/+$/, '');
    this.agent = new Agent({
      keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
      connections: CONNECTIONS_PER_ORIGIN,
      // The whole exchange is bounded by the request's own timeout below; these only must not cut it shorter.
      headersTimeout: settings.httpTimeoutMs + 1_000,
      bodyTimeout: settings.httpTimeoutMs + 1_000,
      connect: { timeout: Math.min(settings.httpTimeoutMs, 10_000) },
    });
  }

  async send(request: DarajaHttpRequest): Promise<DarajaHttpAnswer> {
    const options: Dispatcher.RequestOptions = {
      origin: this.origin,
      path: this.basePath + request.path,
      method: request.method,
      headers:
        request.body === undefined ? request.headers : { ...request.headers, 'content-length': String(Buffer.byteLength(request.body)) },
      body: request.body,
      // A deadline for the whole exchange (connect, send, headers and body), like fetch's AbortSignal.timeout was.
      signal: AbortSignal.timeout(this.settings.httpTimeoutMs),
    };
    const response = await this.agent.request(options);
    const text = await response.body.text();
    const date = response.headers['date'];
    return { status: response.statusCode, text, date: typeof date === 'string' ? date : null };
  }

  async onModuleDestroy(): Promise<void> {
    await this.agent.close();
  }
}
