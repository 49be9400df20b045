import { Body, Controller, Get, Param, Post, Query, Res, ValidationPipe } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public, SkipRateLimits } from '../../common/decorators/route-access';
import { normalizeKenyanPhone } from '../../common/phone-number';
import { CallbacksSwitchDto, QueueFaultsDto, SetBalancesDto } from './simulator-control.dto';
import { FAULT_ENDPOINTS, faultAppliesTo } from './simulator-faults';
import { kesNumber, SimulatedBalances } from './simulator-money-out-wire';
import { SimulatorMoneyOutService } from './simulator-money-out.service';
import { SimulatorRecorder } from './simulator-recorder';
import { DarajaSimulatorService } from './simulator.service';

/** Validates here rather than trusting the app's global pipe, whose settings this module does not own. */
const validBody = new ValidationPipe({ whitelist: true, forbidNonWhitelisted: true, transform: true });

/** Test and bench controls for the simulator. Not part of Daraja; never reachable outside simulator mode. */
@Public()
@SkipRateLimits()
@ApiExcludeController()
@Controller('simulator/control')
export class SimulatorControlController {
  constructor(
    private readonly simulator: DarajaSimulatorService,
    private readonly moneyOut: SimulatorMoneyOutService,
    private readonly recorder: SimulatorRecorder,
  ) {}

  /** Queues `count` faults; each is consumed by one request to `endpoint`, across all app processes. */
  @Post('faults')
  async queueFaults(@Body(validBody) dto: QueueFaultsDto, @Res() reply: FastifyReply): Promise<void> {
    if (!faultAppliesTo(dto.kind, dto.endpoint)) {
      const endpoints = (FAULT_ENDPOINTS[dto.kind] ?? []).join(', ');
      reply.status(400).send({ statusCode: 400, message: `${dto.kind} applies to ${endpoints} only, not ${dto.endpoint}` });
      return;
    }
    const count = dto.count ?? 1;
    const pending = await this.simulator.queueFaults(dto.endpoint, { kind: dto.kind, delayMs: dto.delayMs }, count);
    reply.status(200).send({ endpoint: dto.endpoint, kind: dto.kind, queued: count, pending });
  }

  /** The latest Daraja requests in arrival order, `{ endpoint, at, fault }`: tests check order and rate with it. */
  @Get('calls')
  async calls(@Res() reply: FastifyReply): Promise<void> {
    reply.status(200).send({ items: await this.simulator.calls() });
  }

  /** Requests with their answers and the callbacks sent with theirs, newest first, secrets redacted (the page's data). */
  @Get('journal')
  async journal(@Res() reply: FastifyReply): Promise<void> {
    reply.status(200).send({ items: await this.recorder.journal() });
  }

  /** Starts recording every request, answer and callback (restarts a running recording). */
  @Post('recorder/start')
  async startRecording(@Res() reply: FastifyReply): Promise<void> {
    reply.status(200).send({ recording: true, ...(await this.recorder.start()) });
  }

  @Get('recorder')
  async recorderStatus(@Res() reply: FastifyReply): Promise<void> {
    reply.status(200).send(await this.recorder.status());
  }

  /**
   * Stops the recording and answers it as a JSON fixture; with SIMULATOR_RECORD_DIR set it is also written there,
   * as `<name>.json` when `?name=` (letters, digits, `-`, `_`) is given.
   */
  @Post('recorder/stop')
  async stopRecording(@Query('name') name: unknown, @Res() reply: FastifyReply): Promise<void> {
    if (name !== undefined && (typeof name !== 'string' || !/^[A-Za-z0-9_-]{1,80}$/.test(name))) {
      reply.status(400).send({ statusCode: 400, message: 'name may hold only letters, digits, - and _ (at most 80)' });
      return;
    }
    const recording = await this.recorder.stop(name);
    if (!recording) {
      reply.status(409).send({ statusCode: 409, message: 'No recording is running: POST /simulator/control/recorder/start first' });
      return;
    }
    reply.status(200).send(recording);
  }

  @Get('stats')
  async stats(@Res() reply: FastifyReply): Promise<void> {
    const [stats, balances] = await Promise.all([this.simulator.stats(), this.moneyOut.balances()]);
    reply.status(200).send({ ...stats, balances: inKes(balances) });
  }

  @Get('stk')
  async transactionsForPhone(@Query('phone') phone: unknown, @Res() reply: FastifyReply): Promise<void> {
    const msisdn = phoneOr400(phone, reply);
    if (msisdn) reply.status(200).send({ items: await this.simulator.transactionsForPhone(msisdn) });
  }

  @Get('stk/:checkoutRequestId')
  async transaction(@Param('checkoutRequestId') checkoutRequestId: string, @Res() reply: FastifyReply): Promise<void> {
    const transaction = await this.simulator.findTransaction(checkoutRequestId);
    if (!transaction) {
      reply.status(404).send({ statusCode: 404, message: `No simulated STK push ${checkoutRequestId}` });
      return;
    }
    const reversal = transaction.receipt ? await this.moneyOut.reversalOf(transaction.receipt) : undefined;
    reply.status(200).send({ ...transaction, settled: Date.parse(transaction.settlesAt) <= Date.now(), reversal: reversal ?? null });
  }

  /** Every B2C payout to the phone; `paid` tells whether money left (tests prove "at most one payout" with it). */
  @Get('b2c')
  async paymentsForPhone(@Query('phone') phone: unknown, @Res() reply: FastifyReply): Promise<void> {
    const msisdn = phoneOr400(phone, reply);
    if (msisdn) reply.status(200).send({ items: await this.moneyOut.paymentsForPhone(msisdn) });
  }

  @Get('b2c/:originatorConversationId')
  async payment(@Param('originatorConversationId') originatorConversationId: string, @Res() reply: FastifyReply): Promise<void> {
    const payment = await this.moneyOut.findPayment(originatorConversationId);
    if (!payment) {
      reply.status(404).send({ statusCode: 404, message: `No simulated B2C payout ${originatorConversationId}` });
      return;
    }
    reply.status(200).send(payment);
  }

  @Get('balance')
  async balances(@Res() reply: FastifyReply): Promise<void> {
    reply.status(200).send(inKes(await this.moneyOut.balances()));
  }

  /** Sets the simulated balances, e.g. `{ "utility": 0 }` so that the next payout fails with ResultCode 1. */
  @Post('balance')
  async setBalances(@Body(validBody) dto: SetBalancesDto, @Res() reply: FastifyReply): Promise<void> {
    reply.status(200).send(inKes(await this.moneyOut.setBalances(dto.utility, dto.working)));
  }

  @Post('revoke-tokens')
  async revokeTokens(@Res() reply: FastifyReply): Promise<void> {
    await this.simulator.revokeTokens();
    reply.status(200).send({ revoked: true });
  }

  @Post('callbacks')
  async setCallbacks(@Body(validBody) dto: CallbacksSwitchDto, @Res() reply: FastifyReply): Promise<void> {
    await this.simulator.setCallbacksEnabled(dto.enabled, dto.only);
    reply.status(200).send({ enabled: dto.enabled, ...(dto.enabled || !dto.only ? {} : { only: dto.only }) });
  }

  /** Stats, the journal, faults, subscriber locks, the callbacks switch and the balances; tokens and stored transactions stay. */
  @Post('reset')
  async reset(@Res() reply: FastifyReply): Promise<void> {
    await Promise.all([this.simulator.reset(), this.moneyOut.resetBalances()]);
    reply.status(200).send({ reset: true });
  }
}

function phoneOr400(phone: unknown, reply: FastifyReply): string | undefined {
  const msisdn = normalizeKenyanPhone(phone);
  if (!msisdn) reply.status(400).send({ statusCode: 400, message: 'phone must be a Safaricom number such as 254708374149' });
  return msisdn;
}

const inKes = (b: SimulatedBalances) => ({ utility: kesNumber(b.utilityCents), working: kesNumber(b.workingCents) });
