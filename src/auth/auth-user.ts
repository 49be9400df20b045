import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { Actor } from '../audit/audit.service';

export type Role = 'client' | 'admin';
export const ROLES: readonly Role[] = ['client', 'admin'];

export interface AuthUser {
  id: string;
  role: Role;
}

export const ROLES_KEY = 'auth:roles';
/** Restricts a route to the given roles (any authenticated user when absent). */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);

export const CurrentUser = createParamDecorator((_: unknown, ctx: ExecutionContext): AuthUser => {
  return ctx.switchToHttp().getRequest<{ user: AuthUser }>().user;
});

/** The authenticated user as an audit actor, with the request's IP and id. */
export const CurrentActor = createParamDecorator((_: unknown, ctx: ExecutionContext): Actor => {
  const request = ctx.switchToHttp().getRequest<FastifyRequest & { user: AuthUser }>();
  return { type: 'user', id: request.user.id, ipAddress: request.ip, requestId: String(request.id) };
});
