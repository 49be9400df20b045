import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { SimulatorRecorder } from '../simulator-recorder';
import { renderSimulatorPage, SimulatorIdentity } from './simulator-page';

export const SIMULATOR_IDENTITY = Symbol('SIMULATOR_IDENTITY');

/** The stand-alone simulator's home page (only there: the embedded one lives under the app's own pages). */
@Controller()
export class SimulatorPageController {
  constructor(
    private readonly recorder: SimulatorRecorder,
    @Inject(SIMULATOR_IDENTITY) private readonly identity: SimulatorIdentity,
  ) {}

  @Get()
  async home(@Res() reply: FastifyReply): Promise<void> {
    const page = renderSimulatorPage(this.identity, await this.recorder.journal());
    reply.status(200).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store').send(page);
  }
}
