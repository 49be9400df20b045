import type { FastifyReply } from 'fastify';
import type { DarajaReply } from './daraja-errors';

/** Sends a simulated Daraja answer verbatim (status, reason phrase, JSON or empty body). */
export function sendDaraja(reply: FastifyReply, answer: DarajaReply): void {
  // Node keeps a statusMessage set before writeHead: Daraja's only hint for bad OAuth credentials lives there.
  if (answer.statusText) reply.raw.statusMessage = answer.statusText;
  reply.status(answer.status);
  if (answer.body === undefined) reply.send();
  else reply.send(answer.body);
}

/** A connection reset: hijack so Fastify stops managing the reply, then drop the socket without a byte. */
export function dropConnection(reply: FastifyReply): void {
  reply.hijack();
  reply.raw.socket?.destroy();
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
