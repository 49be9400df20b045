import { Body, Controller, Get, Param, Post, Query, Res, ValidationPipe } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public } from '../../auth/public.decorator';
import { normalizeKenyanPhone } from '../phone-number';
import { CallbacksSwitchDto, QueueFaultsDto } from './simulator-control.dto';
import { DarajaSimulatorService } from './simulator.service';

/** Validates here rather than trusting the app's global pipe, whose settings this module does not own. */
const validBody = new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true });

/** Test and bench controls for the simulator. Not part of Daraja; never reachable outside simulator mode. */
@Public()
@ApiExcludeController()
@Controller('simulator/control')
export class SimulatorControlController {
  constructor(private readonly simulator: DarajaSimulatorService) {}

  /** Queues `count` faults; each is consumed by one request to `endpoint`, across all app processes. */
  @Post('faults')
  async queueFaults(@Body(validBody) dto: QueueFaultsDto, @Res() reply: FastifyReply): Promise<void> {
    const count = dto.count ?? 1;
    const pending = await this.simulator.queueFaults(dto.endpoint, { kind: dto.kind, delayMs: dto.delayMs }, count);
    reply.status(200).send({ endpoint: dto.endpoint, kind: dto.kind, queued: count, pending });
  }

  @Get('stats')
  async stats(@Res() reply: FastifyReply): Promise<void> {
    reply.status(200).send(await this.simulator.stats());
  }

  @Get('stk')
  async transactionsForPhone(@Query('phone') phone: unknown, @Res() reply: FastifyReply): Promise<void> {
    const msisdn = normalizeKenyanPhone(phone);
    if (!msisdn) {
      reply.status(400).send({ statusCode: 400, message: 'phone must be a Safaricom number such as 254708374149' });
      return;
    }
    reply.status(200).send({ items: await this.simulator.transactionsForPhone(msisdn) });
  }

  @Get('stk/:checkoutRequestId')
  async transaction(@Param('checkoutRequestId') checkoutRequestId: string, @Res() reply: FastifyReply): Promise<void> {
    const transaction = await this.simulator.findTransaction(checkoutRequestId);
    if (!transaction) {
      reply.status(404).send({ statusCode: 404, message: `No simulated STK push ${checkoutRequestId}` });
      return;
    }
    reply.status(200).send({ ...transaction, settled: Date.parse(transaction.settlesAt) <= Date.now() });
  }

  @Post('revoke-tokens')
  async revokeTokens(@Res() reply: FastifyReply): Promise<void> {
    await this.simulator.revokeTokens();
    reply.status(200).send({ revoked: true });
  }

  @Post('callbacks')
  async setCallbacks(@Body(validBody) dto: CallbacksSwitchDto, @Res() reply: FastifyReply): Promise<void> {
    await this.simulator.setCallbacksEnabled(dto.enabled);
    reply.status(200).send({ enabled: dto.enabled });
  }

  @Post('reset')
  async reset(@Res() reply: FastifyReply): Promise<void> {
    await this.simulator.reset();
    reply.status(200).send({ reset: true });
  }
}
