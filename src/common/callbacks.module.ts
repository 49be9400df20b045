import { Global, Module } from '@nestjs/common';
import { CallbackUrls } from './callback-urls';

/** Signed callback URLs, used by every feature that hands Daraja a URL to call back. */
@Global()
@Module({ providers: [CallbackUrls], exports: [CallbackUrls] })
export class CallbacksModule {}
