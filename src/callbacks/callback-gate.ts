import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppError, ErrorCode } from '../common/errors/app-error';
import { appErrorResponse } from '../common/errors/app-error.filter';
import { rateLimitConfig } from '../config/configuration';
import { C2bRoute, CallbackKind, CallbackRoute, RESULT_KINDS, ResultKind } from './callback-urls';
import { InboundCallbacks } from './inbound-callbacks';

/** Daraja's callback routes, under both prefixes (Safaricom refuses "mpesa" in callback URLs); C2B's only under daraja. */
const CALLBACK_PATH = /^\/api\/payments\/(?:mpesa|daraja)\/(stk-callback|result|b2c-callback|timeout|c2b\/validation|c2b\/confirmation)$/;
const ROUTES: Record<string, CallbackRoute> = {
  'stk-callback': 'stk',
  result: 'result',
  'b2c-callback': 'result',
  timeout: 'timeout',
  'c2b/validation': 'c2b_validation',
  'c2b/confirmation': 'c2b_confirmation',
};
const C2B_ROUTE: Partial<Record<CallbackRoute, C2bRoute>> = { c2b_validation: 'validation', c2b_confirmation: 'confirmation' };

/** Daraja's bodies are a few kilobytes: anything larger on a callback route is refused unread. */
export const CALLBACK_BODY_LIMIT_BYTES = 64 * 1024;
const WINDOW_MS = 60_000;
/** Bounded memory: the counters of at most this many IPs are kept (the oldest window is dropped first). */
const MAX_TRACKED_IPS = 10_000;

/**
 * Cheap to reject: a callback whose source IP or URL token is wrong is refused before Fastify reads its body, with a
 * bounded record (never the body), and an IP that keeps sending them is answered 429 without any record at all. A
 * callback route's body may not exceed 64 KB. Fastify hooks, so they run before Nest (like the queues dashboard's);
 * the pipeline (InboundCallbacks.handle) screens again, so nothing depends on the hook alone.
 */
@Injectable()
export class CallbackGate {
  private readonly logger = new Logger(CallbackGate.name);
  private readonly rejections = new Map<string, { windowStart: number; count: number }>();

  constructor(
    private readonly callbacks: InboundCallbacks,
    @Inject(rateLimitConfig.KEY) private readonly limits: ConfigType<typeof rateLimitConfig>,
  ) {}

  /**
   * Attached per route from an onRoute hook (the router decides what is a callback route, so no spelling of the path
   * escapes it), before the app initialises and registers Nest's routes.
   */
  register(app: NestFastifyApplication): void {
    const fastify = app.getHttpAdapter().getInstance();
    fastify.addHook('onRoute', (route) => {
      const match = CALLBACK_PATH.exec(route.url);
      if (!match) return;
      const gate = this.screen(ROUTES[match[1]]);
      const existing = route.onRequest ? [route.onRequest].flat() : [];
      // The cast only bridges two copies of Fastify's types (@nestjs/platform-fastify bundles its own).
      route.onRequest = [gate as unknown as (typeof existing)[number], ...existing];
      // Daraja's bodies are a few kilobytes; Fastify refuses a larger one (413) without reading it into memory.
      route.bodyLimit = CALLBACK_BODY_LIMIT_BYTES;
    });
  }

  /** The onRequest hook of one callback route: it runs before Fastify reads the body. */
  private screen(route: CallbackRoute): (request: FastifyRequest, reply: FastifyReply) => Promise<unknown> {
    return async (request, reply) => {
      const query = request.query as Record<string, unknown>;
      const c2b = C2B_ROUTE[route];
      const kind: CallbackKind | undefined =
        route === 'stk' ? 'stk' : c2b ? 'c2b' : RESULT_KINDS.includes(query.kind as ResultKind) ? (query.kind as ResultKind) : undefined;
      const inbound = {
        kind,
        // A C2B URL names no row of ours: its token is bound to the route itself.
        id: route === 'stk' ? query.pid : (c2b ?? query.id),
        token: query.token,
        ipAddress: request.ip,
        userAgent: request.headers['user-agent'],
        requestId: String(request.id),
        endpoint: route === 'stk' ? '/api/payments/mpesa/stk-callback' : request.url.split('?')[0],
      };
      const rejection = this.callbacks.screen(inbound);
      if (!rejection) return undefined;
      if (this.overLimit(request.ip)) {
        const body = { success: false, message: 'Too many rejected callbacks from this IP address', code: ErrorCode.RATE_LIMITED };
        return reply
          .status(429)
          .header('retry-after', String(WINDOW_MS / 1000))
          .send(body);
      }
      await this.callbacks
        .recordEarlyRejection(route, inbound, rejection)
        .catch((e: unknown) => this.logger.error(`Could not record a rejected callback: ${String(e)}`));
      const [status, body] = appErrorResponse(new AppError(ErrorCode.CALLBACK_REJECTED, 'Callback rejected'));
      return reply.status(status).send(body);
    };
  }

  private overLimit(ip: string): boolean {
    const now = Date.now();
    const entry = this.rejections.get(ip);
    if (!entry || now - entry.windowStart >= WINDOW_MS) {
      if (this.rejections.size >= MAX_TRACKED_IPS) this.rejections.delete(this.rejections.keys().next().value as string);
      this.rejections.set(ip, { windowStart: now, count: 1 });
      return false;
    }
    entry.count++;
    // Rejected callbacks recorded per source IP and minute (per process); beyond, they are refused without a record.
    return entry.count > this.limits.rejectedCallbacksPerIp;
  }
}
