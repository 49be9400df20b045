import { Inject, Injectable } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { mpesaConfig } from '../config/configuration';

/**
 * Daraja does not sign callbacks, so every CallBackURL we hand out names its payment and carries
 * HMAC(secret, paymentId): unguessable, checked in constant time, and it ties the callback to our row even
 * when it arrives before the push's own HTTP response.
 */
@Injectable()
export class CallbackUrls {
  constructor(@Inject(mpesaConfig.KEY) private readonly settings: ConfigType<typeof mpesaConfig>) {}

  stkCallbackUrl(paymentId: string): string {
    const url = new URL(this.settings.stkCallbackUrl);
    url.searchParams.set('pid', paymentId);
    url.searchParams.set('token', this.tokenFor('stk', paymentId));
    return url.toString();
  }

  verify(kind: 'stk', paymentId: unknown, token: unknown): boolean {
    if (typeof paymentId !== 'string' || typeof token !== 'string' || !paymentId || !token) return false;
    const expected = Buffer.from(this.tokenFor(kind, paymentId));
    const given = Buffer.from(token);
    return expected.length === given.length && timingSafeEqual(expected, given);
  }

  private tokenFor(kind: string, paymentId: string): string {
    return createHmac('sha256', this.settings.callbackSecret).update(`${kind}:${paymentId}`).digest('base64url');
  }
}
