import { Module } from '@nestjs/common';
import { SimulatorControlController } from './simulator-control.controller';
import { SimulatorMoneyOutController } from './simulator-money-out.controller';
import { SimulatorMoneyOutService } from './simulator-money-out.service';
import { DarajaSimulatorController } from './simulator.controller';
import { DarajaSimulatorService } from './simulator.service';

/**
 * The embedded Daraja simulator: OAuth, STK Push/Query, B2C, Account Balance, Reversal and Transaction Status.
 * Import it only in simulator mode. Needs the global ConfigModule (mpesa + simulator namespaces), the global
 * RedisModule and `certs/simulator.key`; all its state is in Redis, so every app process can serve it.
 */
@Module({
  controllers: [DarajaSimulatorController, SimulatorMoneyOutController, SimulatorControlController],
  providers: [DarajaSimulatorService, SimulatorMoneyOutService],
})
export class DarajaSimulatorModule {}
