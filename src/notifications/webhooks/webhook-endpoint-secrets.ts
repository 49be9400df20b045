import { randomBytes } from 'node:crypto';
import { FieldEncryptionService } from '../../common/crypto/field-encryption.service';
import { FIELDS } from '../../common/crypto/sealed-field';
import type { WebhookEndpointRow } from './webhook-endpoints.repository';

/** `whsec_` and 32 random bytes: shown once, when the endpoint is created or its secret rotated. */
export function newWebhookSecret(): string {
  return `whsec_${randomBytes(32).toString('base64url')}`;
}

/** The secrets that sign for an endpoint now: its current one, and the previous one while the rotation overlaps. */
export function signingSecrets(endpoint: WebhookEndpointRow, crypto: FieldEncryptionService, now = Date.now()): string[] {
  const secrets = [crypto.decrypt(endpoint.secretEncrypted, FIELDS.webhookEndpointSecret(endpoint.id))];
  if (endpoint.previousSecretEncrypted && endpoint.previousSecretExpiresAt && endpoint.previousSecretExpiresAt.getTime() > now) {
    secrets.push(crypto.decrypt(endpoint.previousSecretEncrypted, FIELDS.webhookEndpointPreviousSecret(endpoint.id)));
  }
  return secrets;
}
