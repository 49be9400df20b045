import { Module } from '@nestjs/common';
import { MpesaModule } from '../mpesa/mpesa.module';
import { PreflightService } from './preflight.service';

/** The Daraja settings check run at start-up; needs DarajaAuthService for the clock skew its last token fetch recorded. */
@Module({ imports: [MpesaModule], providers: [PreflightService], exports: [PreflightService] })
export class PreflightModule {}
