import { Module } from '@nestjs/common';
import { DarajaAuthService } from './daraja-auth.service';
import { DarajaCallBudgetService } from './daraja-call-budget.service';
import { DarajaCallObservers } from './daraja-call-observers';
import { DarajaClient } from './daraja.client';
import { DarajaHttp } from './daraja-http';
import { SecurityCredentialService } from './security-credential';

/**
 * The Daraja anti-corruption layer: HTTP, OAuth tokens, the fleet's call budget, the SecurityCredential. Imports none
 * of our feature modules; it needs only the global config, Redis and crypto modules.
 */
@Module({
  providers: [DarajaAuthService, DarajaCallBudgetService, DarajaCallObservers, DarajaClient, DarajaHttp, SecurityCredentialService],
  exports: [DarajaAuthService, DarajaCallBudgetService, DarajaCallObservers, DarajaClient, SecurityCredentialService],
})
export class MpesaModule {}
