import { Module } from '@nestjs/common';
import { SimulatorControlController } from './simulator-control.controller';
import { DarajaSimulatorController } from './simulator.controller';
import { DarajaSimulatorService } from './simulator.service';

/**
 * The embedded Daraja simulator (STK so far). Import it only in simulator mode. Needs the global ConfigModule
 * (mpesa + simulator namespaces) and the global RedisModule; all its state is in Redis, so every app process
 * can serve it.
 */
@Module({
  controllers: [DarajaSimulatorController, SimulatorControlController],
  providers: [DarajaSimulatorService],
})
export class DarajaSimulatorModule {}
