import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';

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
