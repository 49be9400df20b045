import { Body, Controller, Headers, Post, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { FastifyReply } from 'fastify';
import { Public, SkipRateLimits } from '../../common/decorators/route-access';
import type { DarajaReply } from './daraja-errors';
import type { ProcessingVariant, SimulatedEndpoint } from './simulator-faults';
import { serveDaraja } from './simulator-http';
import { SimulatorMoneyOutService } from './simulator-money-out.service';
import { DarajaSimulatorService } from './simulator.service';

/** Daraja's money-out paths (B2C v1/v3, Account Balance, Reversal, Transaction Status) under `/simulator/daraja`. */
@Public()
@SkipRateLimits()
@ApiExcludeController()
@Controller('simulator/daraja')
export class SimulatorMoneyOutController {
  constructor(
    private readonly simulator: DarajaSimulatorService,
    private readonly moneyOut: SimulatorMoneyOutService,
  ) {}

  @Post('mpesa/b2c/v3/paymentrequest')
  async b2cV3(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.serve('b2c', reply, (variant) => this.moneyOut.b2cPayment('v3', authorization, body, variant));
  }

  @Post('mpesa/b2c/v1/paymentrequest')
  async b2cV1(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.serve('b2c', reply, (variant) => this.moneyOut.b2cPayment('v1', authorization, body, variant));
  }

  @Post('mpesa/accountbalance/v1/query')
  async accountBalance(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.serve('balance', reply, (variant) => this.moneyOut.accountBalance(authorization, body, variant));
  }

  @Post('mpesa/reversal/v1/request')
  async reversal(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.serve('reversal', reply, (variant) => this.moneyOut.reversal(authorization, body, variant));
  }

  @Post('mpesa/transactionstatus/v1/query')
  async transactionStatus(
    @Headers('authorization') authorization: string | undefined,
    @Body() body: unknown,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.serve('transactionstatus', reply, (variant) => this.moneyOut.transactionStatus(authorization, body, variant));
  }

  private serve(
    endpoint: SimulatedEndpoint,
    reply: FastifyReply,
    process: (variant?: ProcessingVariant) => Promise<DarajaReply>,
  ): Promise<void> {
    return serveDaraja(this.simulator, endpoint, reply, process);
  }
}
