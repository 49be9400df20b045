import type { FastifyReply, FastifyRequest } from 'fastify';
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

/** What serveDaraja needs of the simulator: count the call and pop its fault, then journal what was answered. */
export interface SimulatedCallHandler {
  beginCall(endpoint: SimulatedEndpoint): Promise<SimulatorFault | undefined>;
  /** `answer` undefined: the connection was dropped without a byte. */
  endCall(endpoint: SimulatedEndpoint | 'unrouted', request: FastifyRequest, answer: DarajaReply | undefined): Promise<void>;
}

/**
 * How every simulated Daraja endpoint answers: count the call, apply a queued fault if any, otherwise send what
 * the endpoint decided, then journal the request and the answer (the page, the recorder). `beginCall` counts and
 * pops the fault in one Redis round trip; `process` gets the fault's processing variant, if it has one.
 */
export async function serveDaraja(
  calls: SimulatedCallHandler,
  endpoint: SimulatedEndpoint,
  reply: FastifyReply,
  process: (variant?: ProcessingVariant) => Promise<DarajaReply>,
): Promise<void> {
  const answer = await decide(calls, endpoint, reply, process);
  if (answer === 'drop') dropConnection(reply);
  else sendDaraja(reply, answer);
  // After the answer is on its way: the journal never delays Daraja's reply.
  await calls.endCall(endpoint, reply.request, answer === 'drop' ? undefined : answer);
}

async function decide(
  calls: SimulatedCallHandler,
  endpoint: SimulatedEndpoint,
  reply: FastifyReply,
  process: (variant?: ProcessingVariant) => Promise<DarajaReply>,
): Promise<DarajaReply | 'drop'> {
  const fault = await calls.beginCall(endpoint);
  const effect = fault ? faultEffect(endpoint, fault) : undefined;
  if (effect?.when === 'before') return effect.action === 'drop' ? 'drop' : effect.reply;

  const answer = await process(effect?.when === 'during' ? effect.variant : undefined);
  if (effect?.when === 'after') {
    switch (effect.action) {
      case 'drop':
        return 'drop';
      case 'delay':
        await sleep(effect.delayMs);
        break;
      case 'answer':
        // The request was processed (state stored, callbacks scheduled); only its answer is replaced.
        return effect.reply;
    }
  }
  return answer;
}
