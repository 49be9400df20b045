import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { JwtAuthGuard } from '../auth/jwt-auth.guard';
import { AppError, RateLimitedError } from '../common/errors/app-error';
import { appErrorResponse } from '../common/errors/app-error.filter';

export const QUEUES_DASHBOARD_ROUTE = '/admin/queues';

/**
 * Admin only for every route under /admin/queues: the page, its static files and its API. bull-board registers
 * them as a Fastify plugin that Nest's guards never see, so each of them gets an onRequest hook running
 * JwtAuthGuard.authorize (same verification, audit, metrics and failed-auth limit as the API): 401 without a
 * valid token, 403 for a non-admin, in the API's error shape.
 *
 * Attached per route from an onRoute hook, not matched on the URL: the router decides what is a dashboard
 * route, so no spelling of the path (percent-encoding, double slashes) can reach one without the check.
 * Must run before the app initialises, when bull-board adds its routes.
 */
export function protectQueuesDashboard(app: NestFastifyApplication): void {
  const guard = app.get(JwtAuthGuard);
  const fastify = app.getHttpAdapter().getInstance();
  type OnRequest = (request: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  const requireAdmin: OnRequest = async (request, reply) => {
    try {
      await guard.authorize(request, ['admin']);
      return undefined;
    } catch (error) {
      if (!(error instanceof AppError)) throw error;
      const [status, body] = appErrorResponse(error);
      if (error instanceof RateLimitedError) void reply.header('retry-after', String(error.retryAfterSeconds));
      return reply.status(status).send(body);
    }
  };
  fastify.addHook('onRoute', (route) => {
    if (route.url !== QUEUES_DASHBOARD_ROUTE && !route.url.startsWith(`${QUEUES_DASHBOARD_ROUTE}/`)) return;
    const existing = route.onRequest ? [route.onRequest].flat() : [];
    // The cast only bridges two copies of Fastify's types (@nestjs/platform-fastify bundles its own).
    route.onRequest = [requireAdmin as unknown as (typeof existing)[number], ...existing];
  });
}
