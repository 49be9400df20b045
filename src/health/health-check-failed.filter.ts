import { ArgumentsHost, Catch, ExceptionFilter, ServiceUnavailableException } from '@nestjs/common';
import type { FastifyReply } from 'fastify';

/**
 * A failed health check answers 503 with Terminus's own body (`status`, `info`, `error`, `details`): the one answer
 * that says which dependency is down. The app's error filter would reduce it to "Service Unavailable Exception".
 */
@Catch(ServiceUnavailableException)
export class HealthCheckFailedFilter implements ExceptionFilter {
  catch(exception: ServiceUnavailableException, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    void reply.status(exception.getStatus()).send(exception.getResponse());
  }
}
