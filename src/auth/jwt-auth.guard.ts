import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Reflector } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import type { FastifyRequest } from 'fastify';
import { AuditService } from '../audit/audit.service';
import { ForbiddenError, UnauthenticatedError } from '../common/errors/app-error';
import { appConfig } from '../config/configuration';
import { AuthFailureReason, MetricsService } from '../metrics/metrics.service';
import { FailedAuthLimiter } from '../rate-limit/failed-auth-limiter';
import { AuthUser, Role, ROLES, ROLES_KEY } from './auth-user';
import { IS_PUBLIC } from '../common/decorators/route-access';
import { JwtPolicy, jwtVerifyOptions, lifetimeRefusal, verifyErrorRefusal } from './jwt-policy';

/**
 * Bearer JWT, HS256 only (so `alg: none` and algorithm-confusion tokens fail), claims `sub` and `role`, an `exp`
 * within JWT_MAX_AGE_SECONDS and no older `iat` (jwt-policy.ts), `iss` / `aud` when JWT_ISSUER / JWT_AUDIENCE are set.
 * Every failure is audited and counted (legalpro_auth_failures_total). An IP that fails too often in a minute is
 * refused with 429 before its token is even looked at (FailedAuthLimiter).
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  private readonly policy: JwtPolicy;
  private readonly verifyOptions: ReturnType<typeof jwtVerifyOptions>;

  constructor(
    private readonly reflector: Reflector,
    private readonly jwt: JwtService,
    private readonly audit: AuditService,
    private readonly metrics: MetricsService,
    private readonly failedAuth: FailedAuthLimiter,
    @Inject(appConfig.KEY) app: ConfigType<typeof appConfig>,
  ) {
    this.policy = { maxAgeSeconds: app.jwtMaxAgeSeconds, issuer: app.jwtIssuer, audience: app.jwtAudience };
    this.verifyOptions = jwtVerifyOptions(this.policy);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: AuthUser }>();
    request.user = await this.authorize(request, this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets));
    return true;
  }

  /**
   * The bearer token's user, if it has one of `roles` (any role when absent). Also guards the routes Nest does
   * not route itself (the queues dashboard's Fastify hook), so they get the same checks, audit and limits.
   */
  async authorize(request: FastifyRequest, roles?: readonly Role[]): Promise<AuthUser> {
    await this.failedAuth.assertNotBlocked(request.ip);
    const user = await this.authenticate(request);
    if (roles && !roles.includes(user.role)) {
      await this.fail(request, 'forbidden', `role ${user.role} may not call this route`, user.id);
      throw new ForbiddenError(`This action requires the ${roles.join(' or ')} role`);
    }
    return user;
  }

  private async authenticate(request: FastifyRequest): Promise<AuthUser> {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) {
      await this.fail(request, 'missing_token', 'missing bearer token');
      throw new UnauthenticatedError('Missing bearer token');
    }
    let claims: { sub?: unknown; role?: unknown; exp?: unknown; iat?: unknown };
    try {
      claims = await this.jwt.verifyAsync(match[1], this.verifyOptions);
    } catch (e) {
      const refusal = verifyErrorRefusal(e);
      await this.fail(request, refusal.reason, refusal.detail);
      throw new UnauthenticatedError(refusal.message);
    }
    const refusal = lifetimeRefusal(claims, Math.floor(Date.now() / 1000), this.policy.maxAgeSeconds);
    if (refusal) {
      await this.fail(request, refusal.reason, refusal.detail);
      throw new UnauthenticatedError(refusal.message);
    }
    if (typeof claims.sub !== 'string' || !claims.sub || claims.sub.length > 64 || !ROLES.includes(claims.role as Role)) {
      await this.fail(request, 'invalid_claims', 'token lacks a valid sub or role claim');
      throw new UnauthenticatedError('Invalid token claims');
    }
    return { id: claims.sub, role: claims.role as Role };
  }

  private async fail(request: FastifyRequest, kind: AuthFailureReason, reason: string, userId?: string): Promise<void> {
    this.metrics.authFailure(kind);
    // Expired tokens (past `exp`, or an `iat` older than JWT_MAX_AGE_SECONDS) do not count: only a holder of the
    // secret can sign one, so they are no guess, and counting them would lock a whole LegalPro backend (one IP) out
    // for a minute when its token lapses mid-burst.
    if (kind !== 'forbidden' && kind !== 'expired_token') await this.failedAuth.recordFailure(request.ip);
    const action = kind === 'forbidden' ? 'auth.forbidden' : 'auth.failed';
    await this.audit.record(
      { type: userId ? 'user' : 'system', id: userId ?? null, ipAddress: request.ip, requestId: String(request.id) },
      {
        action,
        entityType: 'route',
        entityId: `${request.method} ${request.routeOptions?.url ?? request.url}`.slice(0, 64),
        metadata: { reason },
      },
    );
  }
}
