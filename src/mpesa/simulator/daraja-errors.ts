import type { SimulatedEndpoint } from './simulator-faults';
import { randomInt } from 'node:crypto';

/** Daraja's synchronous error envelope (docs/daraja.md §1.5): lower camelCase, the same for every API. */
export interface DarajaErrorBody {
  requestId: string;
  errorCode: string;
  errorMessage: string;
}

/**
 * What a simulated endpoint answers. The controller sends it verbatim so the app's error filter never
 * reshapes Daraja's JSON. `body` undefined means an empty body (OAuth's wrong-credentials answer).
 */
export interface DarajaReply {
  status: number;
  body?: unknown;
  /** HTTP reason phrase; Daraja puts the only hint for bad OAuth credentials there (docs/daraja.md §1.4). */
  statusText?: string;
  /** Set only for a body that is not JSON (a proxy's HTML page); `body` is then sent as this text. */
  contentType?: string;
}

/** Looks like the `11259-2330641-1` request ids real Daraja errors carry. */
export function darajaRequestId(): string {
  return `${randomInt(1_000, 99_999)}-${randomInt(1_000_000, 99_999_999)}-${randomInt(1, 4)}`;
}

export function darajaError(status: number, errorCode: string, errorMessage: string, requestId = darajaRequestId()): DarajaReply {
  const body: DarajaErrorBody = { requestId, errorCode, errorMessage };
  return { status, body };
}

/** `400.002.02 Bad Request - Invalid <Field>`: Daraja names the first field it rejects. */
export const invalidField = (field: string) => darajaError(400, '400.002.02', `Bad Request - Invalid ${field}`);

export const invalidGrantType = () => darajaError(400, '400.008.02', 'Invalid grant type passed');
export const invalidAuthentication = () => darajaError(400, '400.008.01', 'Invalid Authentication passed');
/** Wrong consumer key/secret: Daraja answers 400 with an empty body; only the reason phrase says why. */
export const invalidCredentials = (): DarajaReply => ({ status: 400, statusText: 'Bad Request: Invalid Credentials' });

/** STK, Reversal and Pull: 404.001.03 for a bad token (docs/daraja.md §1.5). */
export const invalidAccessToken = () => darajaError(404, '404.001.03', 'Invalid Access Token');

/**
 * A bad or superseded token, in the shape each API documents (docs/daraja.md §1.5): B2C and Account Balance answer
 * HTTP 401 `401.002.01` naming the token; Transaction Status and C2B list 400 `400.003.01`; STK, Reversal and the
 * rest 404 `404.001.03`. Clients must classify by message (`/invalid access token/i`), not by code.
 */
export function invalidAccessTokenFor(endpoint: SimulatedEndpoint, authorization?: string): DarajaReply {
  switch (endpoint) {
    case 'b2c':
    case 'balance': {
      const token = /^Bearer\s+(\S+)/i.exec(authorization ?? '')?.[1] ?? '';
      return darajaError(401, '401.002.01', `Error Occurred - Invalid Access Token - ${token}`);
    }
    case 'transactionstatus':
    case 'c2bregister':
    case 'c2bsimulate':
      return darajaError(400, '400.003.01', 'Invalid Access Token');
    default:
      return invalidAccessToken();
  }
}

/** Any other method on a Daraja path: `405.001 <METHOD> Method Not Allowed`, HTTP 405 (docs/daraja.md §1.5). */
export const methodNotAllowed = (method: string) => darajaError(405, '405.001', `${method.toUpperCase()} Method Not Allowed`);
/** A path Daraja does not serve. */
export const resourceNotFound = () => darajaError(404, '404.001.01', 'Resource not found');
export const wrongCredentials = () => darajaError(500, '500.001.1001', 'Wrong credentials');
export const subscriberLocked = () =>
  darajaError(500, '500.001.1001', 'Unable to lock subscriber, a transaction is already in process for the current subscriber');
/** The STK Query "still pending" answer: the request id is the CheckoutRequestID (real capture, docs/daraja.md §4). */
export const transactionBeingProcessed = (checkoutRequestId: string) =>
  darajaError(500, '500.001.1001', 'The transaction is being processed', checkoutRequestId);

/** B2C v3 reuse of an OriginatorConversationID (docs/daraja.md §5.2): M-Pesa's guard against double disbursement. */
export const duplicateOriginatorConversationId = () => darajaError(500, '500.002.1001', 'Duplicate OriginatorConversationID.');

export const systemBusy = () => darajaError(500, '500.003.02', 'System is busy. Please try again in few minutes.');
export const spikeArrest = () => darajaError(500, '500.003.02', 'Error Occurred: Spike Arrest Violation');
export const quotaViolation = () => darajaError(500, '500.003.03', 'Quota Violation');
export const internalServerError = () => darajaError(500, '500.003.1001', 'Internal Server Error');

/** C2B Register URL in production, once URLs exist for the shortcode (docs/daraja.md §9.2). */
export const alreadyRegistered = () => darajaError(500, '500.003.1001', 'Urls are already registered.');

/**
 * Pull Transactions' failure inside HTTP 200: a gateway code in `ResponseCode` instead of 1000/1001, as integrators
 * meet it in production (docs/daraja.md §17.5).
 */
export const pullFailureInside200 = (): DarajaReply => ({
  status: 200,
  body: {
    ResponseRefID: darajaRequestId(),
    ResponseCode: '500.003.02',
    ResponseMessage: 'System is busy. Please try again in few minutes.',
  },
});

/**
 * What a load balancer in front of Daraja answers when its upstream fails: HTML, not Daraja's JSON. Daraja's own
 * edge is known to answer HTML (Apigee's portal page, Incapsula's 503, docs/daraja.md §1.4); this is the
 * shape of nginx's stock 502 page, so clients meet a body they cannot parse as JSON.
 */
export const BAD_GATEWAY_HTML =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n' +
  '<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
export const badGatewayHtml = (): DarajaReply => ({ status: 502, body: BAD_GATEWAY_HTML, contentType: 'text/html' });
