import { Module } from '@nestjs/common';
import { SimulatorC2bController } from './simulator-c2b.controller';
import { SimulatorC2bService } from './simulator-c2b.service';
import { SimulatorControlController } from './simulator-control.controller';
import { SimulatorLedgerControlController } from './simulator-ledger-control.controller';
import { SimulatorMoneyOutController } from './simulator-money-out.controller';
import { SimulatorMoneyOutService } from './simulator-money-out.service';
import { SimulatorPullService } from './simulator-pull.service';
import { SimulatorRecorder } from './simulator-recorder';
import { SIMULATOR_REDIS_PROVIDERS } from './simulator-redis';
import { DarajaSimulatorController, DarajaWrongMethodController } from './simulator.controller';
import { DarajaSimulatorService } from './simulator.service';

/** The Daraja endpoints and the control API; the stand-alone simulator (standalone/) serves the same ones. */
export const SIMULATOR_CONTROLLERS = [
  DarajaSimulatorController,
  SimulatorMoneyOutController,
  SimulatorC2bController,
  SimulatorControlController,
  SimulatorLedgerControlController,
  // Last: its catch-all answers only what no Daraja route above took (a wrong method, an unknown path).
  DarajaWrongMethodController,
];

export const SIMULATOR_PROVIDERS = [
  ...SIMULATOR_REDIS_PROVIDERS,
  DarajaSimulatorService,
  SimulatorMoneyOutService,
  SimulatorC2bService,
  SimulatorPullService,
  SimulatorRecorder,
];

/**
 * The embedded Daraja simulator: OAuth, STK Push/Query, B2C, Account Balance, Reversal, Transaction Status, C2B
 * (Register URL, Simulate) and Pull Transactions, over a ledger of every shilling it moved (also exported as an
 * org-portal statement). Import it only in simulator mode. Needs the global ConfigModule (mpesa + simulator
 * namespaces) and `certs/simulator.key`. Its state is in a Redis of its own (SIMULATOR_REDIS_URL; by default the
 * next logical database of the service's server, under its own key prefix), so every app process can serve it and
 * a flush of the service's Redis is not a flush of Daraja.
 */
@Module({
  controllers: SIMULATOR_CONTROLLERS,
  providers: SIMULATOR_PROVIDERS,
})
export class DarajaSimulatorModule {}
