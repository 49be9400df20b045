import { Body, Controller, Headers, Post, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public, SkipRateLimits } from '../../common/decorators/route-access';
import type { DarajaReply } from './daraja-errors';
import { SimulatorC2bService } from './simulator-c2b.service';
import type { ProcessingVariant, SimulatedEndpoint } from './simulator-faults';
import { serveDaraja } from './simulator-http';
import { SimulatorPullService } from './simulator-pull.service';
import { DarajaSimulatorService } from './simulator.service';

/**
 * Daraja's C2B paths (Register URL and Simulate, v1 and v2) and Pull Transactions' (no `/mpesa/` prefix, as on
 * Daraja: docs/daraja.md §17.1) under `/simulator/daraja`.
 */
@Public()
@SkipRateLimits()
@ApiExcludeController()
@Controller('simulator/daraja')
export class SimulatorC2bController {
  constructor(
    private readonly simulator: DarajaSimulatorService,
    private readonly c2b: SimulatorC2bService,
    private readonly pull: SimulatorPullService,
  ) {}

  @Post('mpesa/c2b/v2/registerurl')
  async registerUrlV2(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.serve('c2bregister', reply, () => this.c2b.registerUrls('v2', authorization, body));
  }

  @Post('mpesa/c2b/v1/registerurl')
  async registerUrlV1(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.serve('c2bregister', reply, () => this.c2b.registerUrls('v1', authorization, body));
  }

  @Post('mpesa/c2b/v2/simulate')
  async simulateV2(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.serve('c2bsimulate', reply, (variant) => this.c2b.simulate('v2', authorization, body, variant));
  }

  @Post('mpesa/c2b/v1/simulate')
  async simulateV1(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.serve('c2bsimulate', reply, (variant) => this.c2b.simulate('v1', authorization, body, variant));
  }

  @Post('pulltransactions/v1/register')
  async pullRegister(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.serve('pullregister', reply, () => this.pull.register(authorization, body));
  }

  @Post('pulltransactions/v1/query')
  async pullQuery(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.serve('pullquery', reply, () => this.pull.query(authorization, body));
  }

  private serve(
    endpoint: SimulatedEndpoint,
    reply: FastifyReply,
    process: (variant?: ProcessingVariant) => Promise<DarajaReply>,
  ): Promise<void> {
    return serveDaraja(this.simulator, endpoint, reply, process);
  }
}
