import type { FastifyReply } from 'fastify';
import type { DarajaReply } from './daraja-errors';
import { faultEffect, ProcessingVariant, SimulatedEndpoint, SimulatorFault } from './simulator-faults';

/** Sends a simulated Daraja answer verbatim (status, reason phrase, JSON, text or empty body). */
export function sendDaraja(reply: FastifyReply, answer: DarajaReply): void {
  // Node keeps a statusMessage set before writeHead: Daraja's only hint for bad OAuth credentials lives there.
  if (answer.statusText) reply.raw.statusMessage = answer.statusText;
  if (answer.contentType) reply.header('content-type', answer.contentType);
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
 * the endpoint decided. `beginCall` is the service's (it counts and pops the fault in one Redis round trip);
 * `process` gets the fault's processing variant, if it has one.
 */
export async function serveDaraja(
  beginCall: (endpoint: SimulatedEndpoint) => Promise<SimulatorFault | undefined>,
  endpoint: SimulatedEndpoint,
  reply: FastifyReply,
  process: (variant?: ProcessingVariant) => Promise<DarajaReply>,
): Promise<void> {
  const fault = await beginCall(endpoint);
  const effect = fault ? faultEffect(endpoint, fault) : undefined;
  if (effect?.when === 'before') {
    if (effect.action === 'drop') dropConnection(reply);
    else sendDaraja(reply, effect.reply);
    return;
  }

  const answer = await process(effect?.when === 'during' ? effect.variant : undefined);
  if (effect?.when === 'after') {
    switch (effect.action) {
      case 'drop':
        return dropConnection(reply);
      case 'delay':
        await sleep(effect.delayMs);
        break;
      case 'answer':
        // The request was processed (state stored, callbacks scheduled); only its answer is replaced.
        return sendDaraja(reply, effect.reply);
    }
  }
  sendDaraja(reply, answer);
}
