import { DynamicModule, Module } from '@nestjs/common';
import { AuditModule } from '../audit/audit.module';
import { CallbacksModule } from '../callbacks/callbacks.module';
import { MpesaModule } from '../mpesa/mpesa.module';
import { PaymentsModule } from '../payments/payments.module';
import { C2bCallbacksController } from './c2b-callbacks.controller';
import { C2bConfirmationService } from './c2b-confirmation.service';
import { C2bRegistrationService } from './c2b-registration.service';
import { C2bValidationService } from './c2b-validation.service';
import { C2bController } from './c2b.controller';

/**
 * C2B: payments customers make from their own phone to the Paybill or till. Registers the URLs, answers validation,
 * and hands every confirmation to payments' IncomingPayments (the one path for money that arrives without our ids).
 * Writes no table of its own.
 */
@Module({})
export class C2bModule {
  private static readonly registered = new Map<boolean, DynamicModule>();

  static register(options: { runWorkers: boolean }): DynamicModule {
    const existing = C2bModule.registered.get(options.runWorkers);
    if (existing) return existing;
    const module: DynamicModule = {
      module: C2bModule,
      imports: [AuditModule, MpesaModule, CallbacksModule, PaymentsModule.register(options)],
      controllers: [C2bController, C2bCallbacksController],
      providers: [C2bRegistrationService, C2bValidationService, C2bConfirmationService],
      exports: [C2bRegistrationService],
    };
    C2bModule.registered.set(options.runWorkers, module);
    return module;
  }
}
