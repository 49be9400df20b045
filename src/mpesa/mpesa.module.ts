import { DynamicModule, Module, ModuleMetadata, Type } from '@nestjs/common';
import { DarajaAuthService } from './daraja-auth.service';
import { DarajaCallBudgetService } from './daraja-call-budget.service';
import { DarajaClient } from './daraja.client';
import { SecurityCredentialService } from './security-credential';
import { DARAJA_CALL_OBSERVER, DarajaCallObserver } from './daraja.types';

export interface MpesaModuleOptions {
  /** Where the client reports every call; the app passes the transaction log. Mpesa imports none of our modules. */
  imports?: ModuleMetadata['imports'];
  callObserver?: Type<DarajaCallObserver>;
}

@Module({})
export class MpesaModule {
  static forRoot(options: MpesaModuleOptions = {}): DynamicModule {
    return {
      module: MpesaModule,
      global: true,
      imports: options.imports ?? [],
      providers: [
        DarajaAuthService,
        DarajaCallBudgetService,
        DarajaClient,
        SecurityCredentialService,
        ...(options.callObserver ? [{ provide: DARAJA_CALL_OBSERVER, useExisting: options.callObserver }] : []),
      ],
      exports: [DarajaClient, DarajaAuthService, DarajaCallBudgetService, SecurityCredentialService],
    };
  }
}
