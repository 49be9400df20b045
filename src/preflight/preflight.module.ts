import { Module } from '@nestjs/common';
import { PreflightService } from './preflight.service';

/** Needs the global config, Redis and MpesaModule (for DarajaAuthService's recorded clock skew). */
@Module({ providers: [PreflightService], exports: [PreflightService] })
export class PreflightModule {}
