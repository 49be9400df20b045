import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { createServer, IncomingMessage, Server, ServerResponse } from 'node:http';
import { appConfig, metricsConfig } from '../config/configuration';
import { bearerTokenMatches } from './metrics-token';
import { MetricsService } from './metrics.service';

/**
 * MODE=worker runs no HTTP server, yet its counters (status queries, sweeps, failed jobs, the Daraja calls its jobs
 * make) exist only in its memory: it answers GET /metrics on METRICS_PORT, with the same token rule as the API.
 */
@Injectable()
export class WorkerMetricsServer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(WorkerMetricsServer.name);
  private server?: Server;

  constructor(
    @Inject(appConfig.KEY) private readonly app: ConfigType<typeof appConfig>,
    @Inject(metricsConfig.KEY) private readonly settings: ConfigType<typeof metricsConfig>,
    private readonly metrics: MetricsService,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    if (this.app.mode !== 'worker' || this.settings.workerPort === 0) return;
    const server = createServer((request, response) => void this.answer(request, response));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.settings.workerPort, this.app.host, () => resolve());
    });
    this.server = server;
    this.logger.log(`Metrics for Prometheus at http://${this.app.host}:${this.settings.workerPort}/metrics`);
  }

  async onApplicationShutdown(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async answer(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' || path !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('Not found\n');
      return;
    }
    if (this.settings.token && !bearerTokenMatches(request.headers.authorization, this.settings.token)) {
      response
        .writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' })
        .end('A valid metrics bearer token is required\n');
      return;
    }
    try {
      const body = await this.metrics.registry.metrics();
      response.writeHead(200, { 'content-type': this.metrics.registry.contentType }).end(body);
    } catch (error) {
      this.logger.error(`Could not render metrics: ${error instanceof Error ? error.message : String(error)}`);
      response.writeHead(500, { 'content-type': 'text/plain' }).end('Could not render metrics\n');
    }
  }
}
