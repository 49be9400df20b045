import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { JwtService } from '@nestjs/jwt';
import type { FastifyRequest } from 'fastify';
import { AuditService } from '../audit/audit.service';
import { ForbiddenError, UnauthenticatedError } from '../common/errors/app-error';
import { AuthUser, Role, ROLES, ROLES_KEY } from './auth-user';
import { IS_PUBLIC } from './public.decorator';

/**
 * Bearer JWT, HS256 only (so `alg: none` and algorithm-confusion tokens fail), claims `sub` and `role`.
 * Every failure is audited.
 */
@Injectable()
export class JwtAuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly jwt: JwtService,
    private readonly audit: AuditService,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, targets)) return true;
    const request = context.switchToHttp().getRequest<FastifyRequest & { user?: AuthUser }>();

    const user = await this.authenticate(request);
    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets);
    if (roles && !roles.includes(user.role)) {
      await this.fail(request, 'auth.forbidden', `role ${user.role} may not call this route`, user.id);
      throw new ForbiddenError(`This action requires the ${roles.join(' or ')} role`);
    }
    request.user = user;
    return true;
  }

  private async authenticate(request: FastifyRequest): Promise<AuthUser> {
    const header = request.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) {
      await this.fail(request, 'auth.failed', 'missing bearer token');
      throw new UnauthenticatedError('Missing bearer token');
    }
    let claims: { sub?: unknown; role?: unknown };
    try {
      claims = await this.jwt.verifyAsync(match[1], { algorithms: ['HS256'] });
    } catch (e) {
      const reason = e instanceof Error ? e.message : 'invalid token';
      await this.fail(request, 'auth.failed', reason);
      throw new UnauthenticatedError(/expired/i.test(reason) ? 'Token expired' : 'Invalid token');
    }
    if (typeof claims.sub !== 'string' || !claims.sub || claims.sub.length > 64 || !ROLES.includes(claims.role as Role)) {
      await this.fail(request, 'auth.failed', 'token lacks a valid sub or role claim');
      throw new UnauthenticatedError('Invalid token claims');
    }
    return { id: claims.sub, role: claims.role as Role };
  }

  private async fail(request: FastifyRequest, action: string, reason: string, userId?: string): Promise<void> {
    await this.audit.record(
      { type: userId ? 'user' : 'system', id: userId ?? null, ipAddress: request.ip, requestId: String(request.id) },
      { action, entityType: 'route', entityId: `${request.method} ${request.routeOptions?.url ?? request.url}`.slice(0, 64), metadata: { reason } },
    );
  }
}
