/**
 * What clients read: one template per client event, as a subject, plain text and HTML for email and one short text
 * for SMS (160 characters, one SMS segment, whenever the figures allow). Pure functions of the event's facts and
 * the client's name; nothing here knows a phone number or an email address, so nothing can print one.
 */
import { ClientNotificationEventName } from '../config/env.validation';

export type ClientEvent = ClientNotificationEventName;

/** The facts of a payment that completed; stored in the outbox row (no personal data). */
export interface PaymentReceivedFacts {
  amount: number;
  currency: string;
  receipt: string | null;
  reference: string;
  /** ISO time M-Pesa gave for the transaction (else when we settled it). */
  paidAt: string;
}

/** The facts of a payment that did not go through. */
export interface PaymentFailedFacts {
  amount: number;
  currency: string;
  reference: string;
  status: string;
  resultCode: string | null;
  failedAt: string;
}

/** The facts of a refund M-Pesa paid. */
export interface RefundSentFacts {
  amount: number;
  currency: string;
  receipt: string | null;
  /** The account reference of the payment refunded. */
  reference: string | null;
  sentAt: string;
}

export interface ClientEventFacts {
  'payment.received': PaymentReceivedFacts;
  'payment.failed': PaymentFailedFacts;
  'refund.sent': RefundSentFacts;
}

export interface RenderedEmail {
  subject: string;
  text: string;
  html: string;
}

export const SMS_SEGMENT = 160;
const SIGNATURE = 'LegalPro';

/**
 * Why a payment failed, in the client's words, from Daraja's ResultCode (docs/daraja.md §3.3). A code
 * not listed gets the general sentence; a timeout without a code (our own give-up) reads as a timeout.
 */
const FAILURE_REASONS: Record<string, string> = {
  '1': 'your M-Pesa balance was not enough',
  '1031': 'the M-Pesa request was cancelled on your phone',
  '1032': 'the M-Pesa request was cancelled on your phone',
  '1037': 'the M-Pesa request timed out before it was answered',
  '1036': 'the M-Pesa request timed out before it was answered',
  '1019': 'the M-Pesa request expired before it was completed',
  '2001': 'the M-Pesa PIN entered was wrong',
  '1001': 'another M-Pesa transaction was in progress on your phone',
  '4': 'it would exceed your daily M-Pesa limit',
  '8006': 'your M-Pesa PIN is locked (call Safaricom on 100)',
};

export function failureReason(resultCode: string | null, status: string): string {
  if (resultCode && FAILURE_REASONS[resultCode]) return FAILURE_REASONS[resultCode];
  if (status === 'cancelled') return FAILURE_REASONS['1032'];
  if (status === 'timeout') return FAILURE_REASONS['1037'];
  return 'M-Pesa could not complete it';
}

/** `KES 2,500`: whole shillings with thousands separators. */
export function formatAmount(amount: number, currency: string): string {
  return `${currency} ${amount.toLocaleString('en-KE', { maximumFractionDigits: 0 })}`;
}

const KENYA_TIME = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'Africa/Nairobi',
  day: 'numeric',
  month: 'short',
  year: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hour12: false,
});

/** `26 Nov 2026 14:05 EAT`: Kenya time whatever the server's time zone. */
export function formatKenyaTime(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return `${KENYA_TIME.format(date).replace(',', '')} EAT`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

/** The greeting's name: the first word only in an SMS (room is short), the full name in an email. */
function firstName(name: string | null): string | null {
  const first = name?.trim().split(/\s+/)[0];
  return first ? first.slice(0, 20) : null;
}

interface Parts {
  subject: string;
  /** Plain sentences; the email's text and HTML are built from the same lines. */
  lines: string[];
  /** Label/value rows of the email's summary table. */
  rows: [string, string][];
  sms: (name: string | null) => string;
}

function partsFor<E extends ClientEvent>(event: E, facts: ClientEventFacts[E]): Parts {
  switch (event) {
    case 'payment.received': {
      const f = facts as PaymentReceivedFacts;
      const amount = formatAmount(f.amount, f.currency);
      const when = formatKenyaTime(f.paidAt);
      return {
        subject: `Payment received: ${amount}`,
        lines: [`We have received your M-Pesa payment of ${amount}. Thank you.`],
        rows: [
          ['Amount', amount],
          ['M-Pesa receipt', f.receipt ?? 'not yet known'],
          ['Reference', f.reference],
          ['Date', when],
        ],
        sms: (name) =>
          `${name ? `${name}, we` : 'We'} received ${amount}${f.receipt ? `, M-Pesa receipt ${f.receipt}` : ''}, ref ${f.reference}, ${when}. Thank you. ${SIGNATURE}`,
      };
    }
    case 'payment.failed': {
      const f = facts as PaymentFailedFacts;
      const amount = formatAmount(f.amount, f.currency);
      const reason = failureReason(f.resultCode, f.status);
      return {
        subject: `Payment not completed: ${amount}`,
        lines: [
          `Your M-Pesa payment of ${amount} (ref ${f.reference}) did not go through: ${reason}.`,
          'No money was taken. You can try again.',
        ],
        rows: [
          ['Amount', amount],
          ['Reference', f.reference],
          ['Reason', reason],
          ['Date', formatKenyaTime(f.failedAt)],
        ],
        sms: (name) =>
          `${name ? `${name}, your` : 'Your'} payment of ${amount} (ref ${f.reference}) did not go through: ${reason}. No money was taken. ${SIGNATURE}`,
      };
    }
    case 'refund.sent': {
      const f = facts as RefundSentFacts;
      const amount = formatAmount(f.amount, f.currency);
      return {
        subject: `Refund sent: ${amount}`,
        lines: [`We have refunded ${amount} to your M-Pesa${f.reference ? ` for payment ${f.reference}` : ''}.`],
        rows: [
          ['Amount', amount],
          ['M-Pesa receipt', f.receipt ?? 'not yet known'],
          ...(f.reference ? ([['Payment reference', f.reference]] as [string, string][]) : []),
          ['Date', formatKenyaTime(f.sentAt)],
        ],
        sms: (name) =>
          `${name ? `${name}, we` : 'We'} refunded ${amount} to your M-Pesa${f.receipt ? `, receipt ${f.receipt}` : ''}${f.reference ? `, ref ${f.reference}` : ''}. ${SIGNATURE}`,
      };
    }
    default: {
      const unknown: never = event as never;
      throw new Error(`No template for client event ${String(unknown)}`);
    }
  }
}

export function renderEmail<E extends ClientEvent>(event: E, facts: ClientEventFacts[E], name: string | null): RenderedEmail {
  const parts = partsFor(event, facts);
  const greeting = name ? `Dear ${name},` : 'Hello,';
  const text = [greeting, '', ...parts.lines, '', ...parts.rows.map(([k, v]) => `${k}: ${v}`), '', SIGNATURE].join('\n');
  const html = [
    '<!doctype html><html><body style="font-family:Arial,sans-serif;color:#222">',
    `<p>${escapeHtml(greeting)}</p>`,
    ...parts.lines.map((line) => `<p>${escapeHtml(line)}</p>`),
    '<table cellpadding="4" style="border-collapse:collapse">',
    ...parts.rows.map(([k, v]) => `<tr><td style="color:#666">${escapeHtml(k)}</td><td><strong>${escapeHtml(v)}</strong></td></tr>`),
    '</table>',
    `<p>${SIGNATURE}</p>`,
    '</body></html>',
  ].join('\n');
  return { subject: parts.subject, text, html };
}

/** One SMS segment when it fits: the greeting is dropped before anything that matters is. */
export function renderSms<E extends ClientEvent>(event: E, facts: ClientEventFacts[E], name: string | null): string {
  const parts = partsFor(event, facts);
  const withName = parts.sms(firstName(name));
  return withName.length <= SMS_SEGMENT ? withName : parts.sms(null);
}
