import { DynamicModule, Module } from '@nestjs/common';
import type { Config } from '../../../config/configuration';
import { mpesaConfig, simulatorConfig } from '../../../config/configuration';
import { SIMULATOR_CONTROLLERS, SIMULATOR_PROVIDERS } from '../simulator.module';
import { SIMULATOR_IDENTITY, SimulatorPageController } from './simulator-page.controller';
import type { SimulatorIdentity } from './simulator-page';

/**
 * The simulator alone (MODE=simulator): the embedded module's controllers and services, with the settings handed in
 * rather than read through the app's ConfigModule, and no Postgres, queues or app Redis. Its `mpesa` settings are
 * the credentials it hands out; `simulator.redis.url` is the store it was given or the private one it started.
 */
@Module({})
export class SimulatorStandaloneModule {
  static forRoot(config: Config, identity: SimulatorIdentity): DynamicModule {
    return {
      module: SimulatorStandaloneModule,
      controllers: [SimulatorPageController, ...SIMULATOR_CONTROLLERS],
      providers: [
        { provide: mpesaConfig.KEY, useValue: config.mpesa },
        { provide: simulatorConfig.KEY, useValue: config.simulator },
        { provide: SIMULATOR_IDENTITY, useValue: identity },
        ...SIMULATOR_PROVIDERS,
      ],
    };
  }
}
