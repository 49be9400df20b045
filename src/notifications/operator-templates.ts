import { escapeHtml } from './client-templates';

/** Events for LegalPro's operators (ALERT_EMAIL_TO), not for a client: e.g. `alert.raised`, `alert.resolved`. */
export function isOperatorEvent(event: string): boolean {
  return event.startsWith('alert.');
}

/** A plain operator email: the summary first, then every fact of the payload, so nothing needs a template change. */
export function renderOperatorEmail(event: string, payload: Record<string, unknown>): { subject: string; text: string; html: string } {
  const firing = event === 'alert.raised';
  const summary = String(payload.summary ?? event);
  const subject = `[LegalPro payments] ${firing ? 'ALERT' : 'Resolved'}: ${String(payload.rule ?? event)}`;
  const rows = Object.entries(payload)
    .filter(([key, value]) => key !== 'summary' && value !== null && value !== undefined)
    .map(([key, value]) => [key, typeof value === 'object' ? JSON.stringify(value) : String(value)] as const);
  const advice = firing ? 'What each alert means and what to do: docs/troubleshooting.md ("Alerts").' : 'No action needed.';
  const text = [summary, '', ...rows.map(([k, v]) => `${k}: ${v}`), '', advice].join('\n');
  const html = [
    '<!doctype html><html><body style="font-family:Arial,sans-serif;color:#222">',
    `<p><strong>${escapeHtml(summary)}</strong></p>`,
    '<table cellpadding="4" style="border-collapse:collapse">',
    ...rows.map(([k, v]) => `<tr><td style="color:#666">${escapeHtml(k)}</td><td>${escapeHtml(v)}</td></tr>`),
    '</table>',
    `<p>${escapeHtml(advice)}</p>`,
    '</body></html>',
  ].join('\n');
  return { subject, text, html };
}
