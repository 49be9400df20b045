import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Actor, AuditService } from '../audit/audit.service';
import { CallbackUrls } from '../callbacks/callback-urls';
import { AppError, ErrorCode } from '../common/errors/app-error';
import { redactText } from '../common/redaction';
import { mpesaConfig } from '../config/configuration';
import { DarajaError, DarajaOutcome } from '../mpesa/daraja-errors';
import { DarajaClient } from '../mpesa/daraja.client';
import { C2bRegistrationDto } from './dto/c2b.dto';

/** Why "already registered" is not an error to retry, and what to do about it (docs/daraja.md §9.2-9.3). */
export const ALREADY_REGISTERED_EXPLANATION =
  'M-Pesa says C2B URLs are already registered for this shortcode. In production a shortcode takes one registration: ' +
  "if the registered URLs are this service's, nothing needs doing; to change them, delete the old ones on the Daraja " +
  'portal (Self Services > URL Management; two org-portal operators approve), then register again. URLs left on the old ' +
  '"aggregator" platform ("Duplicate notification info") must be deleted by Safaricom.';

/**
 * Registers the C2B validation and confirmation URLs (Daraja C2B v2) for the C2B shortcode, with their tokens; used
 * by `POST /api/mpesa/c2b/register` and `npm run c2b:register`.
 */
@Injectable()
export class C2bRegistrationService {
  private readonly logger = new Logger(C2bRegistrationService.name);

  constructor(
    private readonly daraja: DarajaClient,
    private readonly urls: CallbackUrls,
    private readonly audit: AuditService,
    @Inject(mpesaConfig.KEY) private readonly settings: ConfigType<typeof mpesaConfig>,
  ) {}

  async register(actor: Actor): Promise<C2bRegistrationDto> {
    const { shortCode, responseType, validationUrl, confirmationUrl } = this.settings.c2b;
    if (!validationUrl || !confirmationUrl) {
      throw new AppError(
        ErrorCode.CONFLICT,
        'C2B is not configured: set MPESA_C2B_VALIDATION_URL and MPESA_C2B_CONFIRMATION_URL (https://<your host>/api/payments/daraja/c2b/validation and .../confirmation), then register',
      );
    }
    const withTokens = this.urls.c2bUrls();
    const facts = { shortCode, responseType, validationUrl, confirmationUrl };
    let registered;
    try {
      registered = await this.daraja.c2bRegisterUrls(
        { shortCode, responseType, validationUrl: withTokens.validationUrl, confirmationUrl: withTokens.confirmationUrl },
        { reference: shortCode, requestId: actor.requestId ?? undefined, userId: actor.id ?? undefined },
      );
    } catch (error) {
      if (!(error instanceof DarajaError)) throw error;
      const said = redactText(error.message);
      await this.audit.record(actor, {
        action: 'c2b.registration_refused',
        entityType: 'c2b_shortcode',
        entityId: shortCode,
        metadata: { ...facts, outcome: error.outcome, reason: error.reason ?? null, message: said },
      });
      if (error.reason === 'already_registered') {
        throw new AppError(ErrorCode.CONFLICT, ALREADY_REGISTERED_EXPLANATION, {
          shortCode,
          reason: 'already_registered',
          mpesaMessage: said,
        });
      }
      if (error.resendable) {
        throw new AppError(ErrorCode.DARAJA_UNAVAILABLE, `M-Pesa did not take the registration (${said}); try again shortly`, {
          shortCode,
        });
      }
      if (error.outcome === DarajaOutcome.Unknown) {
        throw new AppError(
          ErrorCode.DARAJA_UNAVAILABLE,
          `M-Pesa's answer to the registration was unclear (${said}); registering again is safe: it answers "already registered" if the first one took`,
          { shortCode },
        );
      }
      throw new AppError(ErrorCode.DARAJA_REJECTED, `M-Pesa refused the C2B registration: ${said}`, { shortCode });
    }
    await this.audit.record(actor, {
      action: 'c2b.urls_registered',
      entityType: 'c2b_shortcode',
      entityId: shortCode,
      metadata: {
        ...facts,
        originatorConversationId: registered.originatorConversationId,
        responseDescription: registered.responseDescription,
      },
    });
    this.logger.log(`C2B URLs registered for ${shortCode}: ${validationUrl}, ${confirmationUrl} (${responseType})`);
    return { ...facts, originatorConversationId: registered.originatorConversationId, responseDescription: registered.responseDescription };
  }
}
