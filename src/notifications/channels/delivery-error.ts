/**
 * A channel's failed delivery. `permanent` is decided from the provider's status code, never from its text: an
 * SMTP 5xx or a gateway 4xx will be refused again (no retry); a timeout, a 5xx or a 429 may pass later.
 * The message is safe to store: it never holds the recipient's address or number.
 */
export class ChannelDeliveryError extends Error {
  constructor(
    message: string,
    readonly permanent: boolean,
    readonly statusCode: number | null = null,
  ) {
    super(message);
    this.name = 'ChannelDeliveryError';
  }
}

/** `w***@example.com`: enough to tell two addresses apart in a delivery record, not enough to write to. */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at <= 0) return '***';
  return `${email[0]}***${email.slice(at)}`;
}

const EMAIL_IN_TEXT = /[^\s<>"'(),;:]+@[^\s<>"'(),;:]+\.[^\s<>"'(),;:]+/g;

/** Masks every email address in a provider's message (SMTP replies often quote the recipient). */
export function maskEmailsInText(text: string): string {
  return text.replace(EMAIL_IN_TEXT, (m) => maskEmail(m));
}
