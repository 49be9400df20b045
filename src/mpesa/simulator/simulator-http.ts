import type { FastifyReply } from 'fastify';
import type { DarajaReply } from './daraja-errors';
import { faultEffect, SimulatedEndpoint, SimulatorFault } from './simulator-faults';

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

/**
 * How every simulated Daraja endpoint answers: count the call, apply a queued fault if any, otherwise send what
 * the endpoint decided. `beginCall` is the service's (it counts and pops the fault in one Redis round trip).
 */
export async function serveDaraja(
  beginCall: (endpoint: SimulatedEndpoint) => Promise<SimulatorFault | undefined>,
  endpoint: SimulatedEndpoint,
  reply: FastifyReply,
  process: () => Promise<DarajaReply>,
): Promise<void> {
  const fault = await beginCall(endpoint);
  const effect = fault ? faultEffect(endpoint, fault) : undefined;
  if (effect?.when === 'before') {
    if (effect.action === 'drop') dropConnection(reply);
    else sendDaraja(reply, effect.reply);
    return;
  }

  const answer = await process();
  if (effect?.action === 'drop') return dropConnection(reply);
  if (effect?.action === 'delay') await sleep(effect.delayMs);
  sendDaraja(reply, answer);
}
