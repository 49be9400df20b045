import { Module } from '@nestjs/common';
import { SimulatorC2bController } from './simulator-c2b.controller';
import { SimulatorC2bService } from './simulator-c2b.service';
import { SimulatorControlController } from './simulator-control.controller';
import { SimulatorLedgerControlController } from './simulator-ledger-control.controller';
import { SimulatorMoneyOutController } from './simulator-money-out.controller';
import { SimulatorMoneyOutService } from './simulator-money-out.service';
import { SimulatorPullService } from './simulator-pull.service';
import { DarajaSimulatorController } from './simulator.controller';
import { DarajaSimulatorService } from './simulator.service';

/**
 * The embedded Daraja simulator: OAuth, STK Push/Query, B2C, Account Balance, Reversal, Transaction Status, C2B
 * (Register URL, Simulate) and Pull Transactions, over a ledger of every shilling it moved (also exported as an
 * org-portal statement). Import it only in simulator mode. Needs the global ConfigModule (mpesa + simulator
 * namespaces), the global RedisModule and `certs/simulator.key`; all its state is in Redis, so every app process can
 * serve it.
 */
@Module({
  controllers: [
    DarajaSimulatorController,
    SimulatorMoneyOutController,
    SimulatorC2bController,
    SimulatorControlController,
    SimulatorLedgerControlController,
  ],
  providers: [DarajaSimulatorService, SimulatorMoneyOutService, SimulatorC2bService, SimulatorPullService],
})
export class DarajaSimulatorModule {}
