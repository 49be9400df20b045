import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { redact } from '../common/redaction';
import { mpesaConfig } from '../config/configuration';
import { DarajaAuthService, parseJson } from './daraja-auth.service';
import { DarajaCallBudgetService } from './daraja-call-budget.service';
import { DarajaCallObservers } from './daraja-call-observers';
import { DarajaHttp } from './daraja-http';
import { classifyDarajaError, classifyNetworkError, DarajaError, DarajaOutcome } from './daraja-errors';
import { cleanResultDesc, normalizeResultCode } from './daraja-result-codes';
import { darajaTimestamp, parsePullDate, pullDateTime, stkPassword } from './daraja-time';
import { SecurityCredentialService } from './security-credential';
import {
  AccountBalanceRequest,
  AsyncRequestAccepted,
  B2cCommandId,
  B2cPaymentRequest,
  C2bRegisterUrlRequest,
  C2bRegisterUrlResponse,
  DarajaCallContext,
  DarajaCallObserver,
  DarajaCallRecord,
  PullQueryRequest,
  PullQueryResponse,
  PullRegisterRequest,
  PullRegisterResponse,
  PullWireTransaction,
  StkPushRequest,
  StkPushResponse,
  StkQueryRequest,
  StkQueryResponse,
  TransactionReversalRequest,
  TransactionStatusRequest,
} from './daraja.types';

/** Daraja's documented field limits (docs/daraja.md §2.1). */
export const ACCOUNT_REFERENCE_MAX = 12;
export const TRANSACTION_DESC_MAX = 13;
/** Remarks: 2-100 characters; Occasion: up to 100 (docs/daraja.md §5.1, §7). */
export const REMARKS_MAX = 100;
export const OCCASION_MAX = 100;

export interface StkPushInput {
  /** `2547XXXXXXXX` / `2541XXXXXXXX`. */
  phone: string;
  amount: number;
  accountReference: string;
  transactionDesc: string;
  callbackUrl: string;
}

export interface B2cPaymentInput {
  /** Our idempotency key (v3): a resend with the same id is refused as a duplicate instead of paying twice. */
  originatorConversationId: string;
  commandId: B2cCommandId;
  /** Whole shillings (10-250,000). */
  amount: number;
  /** `2547XXXXXXXX` / `2541XXXXXXXX`. */
  phone: string;
  remarks: string;
  occasion?: string;
  resultUrl: string;
  queueTimeoutUrl: string;
}

export interface AccountBalanceInput {
  remarks: string;
  resultUrl: string;
  queueTimeoutUrl: string;
}

export interface TransactionReversalInput {
  /** The M-Pesa receipt of the (STK/C2B) payment to reverse. B2C payouts cannot be reversed (docs/daraja.md §5.6). */
  transactionId: string;
  amount: number;
  remarks: string;
  occasion?: string;
  resultUrl: string;
  queueTimeoutUrl: string;
}

export interface TransactionStatusInput {
  /** The M-Pesa receipt; preferred when known. */
  transactionId?: string;
  /** The OriginatorConversationID of the request asked about (e.g. a B2C payout's). */
  originatorConversationId?: string;
  remarks: string;
  occasion?: string;
  resultUrl: string;
  queueTimeoutUrl: string;
}

export type StkQueryResult =
  | { state: 'pending'; raw: unknown }
  | { state: 'settled'; resultCode: string; resultDesc: string; raw: StkQueryResponse }
  /** Daraja answered about another CheckoutRequestID than the one asked about. */
  | { state: 'mismatched'; answeredFor: string; raw: StkQueryResponse };

export interface C2bRegisterInput {
  shortCode: string;
  /** What M-Pesa does when the validation URL does not answer in time (docs/daraja.md §9.4). */
  responseType: 'Completed' | 'Cancelled';
  confirmationUrl: string;
  validationUrl: string;
}

export interface C2bRegistered {
  originatorConversationId: string | null;
  responseCode: string;
  responseDescription: string;
}

export interface PullRegisterInput {
  shortCode: string;
  /** The Safaricom MSISDN on the shortcode's KYC record (not the shortcode). */
  nominatedNumber: string;
  callbackUrl: string;
}

export interface PullRegistered {
  responseRefId: string | null;
  responseStatus: string;
  responseDescription: string;
  /** 1001: registered before. Success all the same. */
  alreadyRegistered: boolean;
}

export interface PullQueryInput {
  shortCode: string;
  start: Date;
  end: Date;
  offset: number;
}

/** One C2B transaction as Pull lists it, parsed. */
export interface PullTransaction {
  /** The M-Pesa receipt (C2B `TransID`). */
  transactionId: string;
  trxDate: Date;
  /** As given: masked, hashed, a number, or empty (docs/daraja.md §9.7). */
  msisdn: string;
  sender: string | null;
  transactionType: string;
  billReference: string | null;
  /** KES; Pull gives a decimal string or a number. */
  amount: number;
  organizationName: string | null;
}

/**
 * Pull's answer, undecided: `1000` is success; `1001` ("no records") is ambiguous (a quiet window, or a shortcode not
 * set up for Pull); anything else is a failure even inside HTTP 200 (docs/daraja.md §17.5). The caller decides.
 */
export interface PullQueryAnswer {
  responseCode: string;
  responseMessage: string;
  transactions: PullTransaction[];
  /** Records Pull listed that could not be read (no id, no amount): reported, never guessed. */
  unreadable: number;
  totalPages: number | null;
  totalRecords: number | null;
}

const ALREADY_REGISTERED = /already registered|duplicate notification info/i;

/** Only characters Daraja is known to accept in prompts (special characters break requests: docs/daraja.md §2.1). */
export function sanitizeDarajaText(text: string, max: number): string {
  return text
    .replace(/[^A-Za-z0-9 -]/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, max)
    .trim();
}

/** Pull's `Response` is an array of arrays (docs/daraja.md §17.4), sometimes one level, sometimes absent. */
function flattenDeep(value: unknown): unknown[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item) => (Array.isArray(item) ? flattenDeep(item) : [item]));
}

function parsePullTransaction(record: unknown): PullTransaction | undefined {
  if (!record || typeof record !== 'object') return undefined;
  const r = record as PullWireTransaction;
  const transactionId = typeof r.transactionId === 'string' ? r.transactionId.trim() : '';
  const amount = Number(r.amount);
  const trxDate = parsePullDate(r.trxDate);
  if (!transactionId || !Number.isFinite(amount) || !trxDate) return undefined;
  const text = (value: unknown) => (value === undefined || value === null || String(value).trim() === '' ? null : String(value).trim());
  return {
    transactionId,
    trxDate,
    msisdn: r.msisdn === undefined || r.msisdn === null ? '' : String(r.msisdn),
    sender: text(r.sender),
    transactionType: text(r.transactiontype) ?? '',
    billReference: text(r.billreference),
    amount,
    organizationName: text(r.organizationname),
  };
}

/** Remarks must be 2-100 characters after cleaning; a blank one falls back to a neutral word. */
function remarks(text: string, fallback: string): string {
  const clean = sanitizeDarajaText(text, REMARKS_MAX);
  return clean.length >= 2 ? clean : fallback;
}

function occasion(text: string | undefined): string | undefined {
  const clean = text === undefined ? '' : sanitizeDarajaText(text, OCCASION_MAX);
  return clean || undefined;
}

/**
 * One method per Daraja endpoint. Knows HTTP, tokens and Daraja's wire format; nothing about payments.
 * Every call takes a slot in the fleet's call budget, has a timeout, is reported (redacted) to the call observer,
 * and fails with a classified DarajaError.
 */
@Injectable()
export class DarajaClient {
  private readonly logger = new Logger(DarajaClient.name);

  constructor(
    @Inject(mpesaConfig.KEY) private readonly settings: ConfigType<typeof mpesaConfig>,
    private readonly auth: DarajaAuthService,
    private readonly credentials: SecurityCredentialService,
    private readonly budget: DarajaCallBudgetService,
    @Inject(DarajaCallObservers) private readonly observer: DarajaCallObserver,
    private readonly http: DarajaHttp,
  ) {}

  async stkPush(input: StkPushInput, context: DarajaCallContext = {}): Promise<StkPushResponse> {
    const timestamp = darajaTimestamp();
    const body: StkPushRequest = {
      BusinessShortCode: Number(this.settings.shortcode),
      Password: stkPassword(this.settings.shortcode, this.settings.passkey, timestamp),
      Timestamp: timestamp,
      TransactionType: this.settings.transactionType,
      Amount: input.amount,
      // Numbers, not strings: string MSISDNs are reported to time out silently in production (docs/daraja.md §2.1).
      PartyA: Number(input.phone),
      PartyB: Number(this.settings.partyB),
      PhoneNumber: Number(input.phone),
      CallBackURL: input.callbackUrl,
      AccountReference: sanitizeDarajaText(input.accountReference, ACCOUNT_REFERENCE_MAX),
      TransactionDesc: sanitizeDarajaText(input.transactionDesc, TRANSACTION_DESC_MAX),
    };
    const response = await this.post<StkPushResponse>(
      'STK_PUSH',
      '/mpesa/stkpush/v1/processrequest',
      body,
      context,
      (r) => r?.CheckoutRequestID,
    );
    if (String(response.ResponseCode) !== '0') {
      throw new DarajaError(
        DarajaOutcome.Rejected,
        response.ResponseDescription || `ResponseCode ${response.ResponseCode}`,
        200,
        String(response.ResponseCode),
      );
    }
    return response;
  }

  async stkQuery(checkoutRequestId: string, context: DarajaCallContext = {}): Promise<StkQueryResult> {
    const timestamp = darajaTimestamp();
    const body: StkQueryRequest = {
      BusinessShortCode: Number(this.settings.shortcode),
      Password: stkPassword(this.settings.shortcode, this.settings.passkey, timestamp),
      Timestamp: timestamp,
      CheckoutRequestID: checkoutRequestId,
    };
    try {
      const raw = await this.post<StkQueryResponse>(
        'STK_QUERY',
        '/mpesa/stkpushquery/v1/query',
        body,
        { ...context },
        () => checkoutRequestId,
      );
      // An answer about another checkout says nothing of ours (docs/outcome-model.md): the caller must not use it.
      if (typeof raw.CheckoutRequestID === 'string' && raw.CheckoutRequestID !== checkoutRequestId) {
        return { state: 'mismatched', answeredFor: raw.CheckoutRequestID, raw };
      }
      const resultCode = normalizeResultCode(raw.ResultCode);
      if (resultCode === undefined) return { state: 'pending', raw };
      return { state: 'settled', resultCode, resultDesc: cleanResultDesc(raw.ResultDesc) ?? '', raw };
    } catch (error) {
      // "The transaction is being processed" is Daraja's way of saying pending (docs/daraja.md §4).
      if (error instanceof DarajaError && error.reason === 'still_processing')
        return { state: 'pending', raw: { errorMessage: error.message } };
      throw error;
    }
  }

  /**
   * B2C payment request (docs/daraja.md §5). v3 carries our OriginatorConversationID, so a resend after an unknown
   * outcome is refused as `500.002.1001 Duplicate OriginatorConversationID` (see `isDuplicateOriginatorConversationId`)
   * instead of paying twice. Never resend with a new id before Transaction Status says the first did not pay.
   */
  async b2cPayment(input: B2cPaymentInput, context: DarajaCallContext = {}): Promise<AsyncRequestAccepted> {
    // Refused before anything is sent (a definite, final refusal): a malformed number could be someone else's.
    if (!/^254[17]\d{8}$/.test(input.phone))
      throw new DarajaError(DarajaOutcome.Rejected, 'B2C not sent: the phone is not a 2547XXXXXXXX / 2541XXXXXXXX MSISDN');
    if (!Number.isInteger(input.amount) || input.amount <= 0)
      throw new DarajaError(DarajaOutcome.Rejected, 'B2C not sent: the amount must be whole shillings');
    const body: B2cPaymentRequest = {
      OriginatorConversationID: input.originatorConversationId,
      InitiatorName: this.credentials.initiatorName(),
      SecurityCredential: this.credentials.credential(),
      CommandID: input.commandId,
      Amount: input.amount,
      PartyA: this.settings.b2cShortcode,
      PartyB: Number(input.phone),
      Remarks: remarks(input.remarks, 'Payment'),
      QueueTimeOutURL: input.queueTimeoutUrl,
      ResultURL: input.resultUrl,
      ...(occasion(input.occasion) ? { Occassion: occasion(input.occasion) } : {}),
    };
    // v3 only: v1 sends no OriginatorConversationID, so nothing would stop a resend from paying twice.
    return this.initiatorCall(
      'B2C',
      '/mpesa/b2c/v3/paymentrequest',
      body,
      context,
      (r) => r?.OriginatorConversationID ?? input.originatorConversationId,
    );
  }

  /** Account Balance of the B2C shortcode (docs/daraja.md §6); the balances arrive on the ResultURL. */
  async accountBalance(input: AccountBalanceInput, context: DarajaCallContext = {}): Promise<AsyncRequestAccepted> {
    const body: AccountBalanceRequest = {
      Initiator: this.credentials.initiatorName(),
      SecurityCredential: this.credentials.credential(),
      CommandID: 'AccountBalance',
      PartyA: this.settings.b2cShortcode,
      IdentifierType: '4',
      Remarks: remarks(input.remarks, 'Balance'),
      QueueTimeOutURL: input.queueTimeoutUrl,
      ResultURL: input.resultUrl,
    };
    return this.initiatorCall('ACCOUNT_BALANCE', '/mpesa/accountbalance/v1/query', body, context, (r) => r?.OriginatorConversationID);
  }

  /** Reverses a payment received on the STK shortcode (docs/daraja.md §7). Keeps Safaricom's `RecieverIdentifierType`. */
  async transactionReversal(input: TransactionReversalInput, context: DarajaCallContext = {}): Promise<AsyncRequestAccepted> {
    const body: TransactionReversalRequest = {
      Initiator: this.credentials.initiatorName(),
      SecurityCredential: this.credentials.credential(),
      CommandID: 'TransactionReversal',
      TransactionID: input.transactionId,
      Amount: input.amount,
      ReceiverParty: this.settings.shortcode,
      RecieverIdentifierType: '11',
      ResultURL: input.resultUrl,
      QueueTimeOutURL: input.queueTimeoutUrl,
      Remarks: remarks(input.remarks, 'Reversal'),
      ...(occasion(input.occasion) ? { Occasion: occasion(input.occasion) } : {}),
    };
    return this.initiatorCall('REVERSAL', '/mpesa/reversal/v1/request', body, context, (r) => r?.OriginatorConversationID);
  }

  /**
   * Transaction Status by receipt or by OriginatorConversationID (docs/daraja.md §8). The docs name the field
   * `OriginalConversationID`, SDKs send `OriginatorConversationID`; which Daraja honours is unverified, so both go.
   */
  async transactionStatus(input: TransactionStatusInput, context: DarajaCallContext = {}): Promise<AsyncRequestAccepted> {
    if (!input.transactionId && !input.originatorConversationId) {
      throw new DarajaError(DarajaOutcome.Rejected, 'Transaction Status not sent: it needs a transactionId or an originatorConversationId');
    }
    const body: TransactionStatusRequest = {
      Initiator: this.credentials.initiatorName(),
      SecurityCredential: this.credentials.credential(),
      CommandID: 'TransactionStatusQuery',
      ...(input.transactionId ? { TransactionID: input.transactionId } : {}),
      ...(input.originatorConversationId
        ? { OriginalConversationID: input.originatorConversationId, OriginatorConversationID: input.originatorConversationId }
        : {}),
      PartyA: this.settings.b2cShortcode,
      IdentifierType: '4',
      ResultURL: input.resultUrl,
      QueueTimeOutURL: input.queueTimeoutUrl,
      Remarks: remarks(input.remarks, 'Status'),
      ...(occasion(input.occasion) ? { Occasion: occasion(input.occasion) } : {}),
    };
    return this.initiatorCall('TRANSACTION_STATUS', '/mpesa/transactionstatus/v1/query', body, context, (r) => r?.OriginatorConversationID);
  }

  /**
   * Registers the C2B validation and confirmation URLs (v2, docs/daraja.md §9.2). "Urls are already registered" comes
   * back as a `rejected` error with reason `already_registered`: in production only Safaricom's portal can change them.
   */
  async c2bRegisterUrls(input: C2bRegisterInput, context: DarajaCallContext = {}): Promise<C2bRegistered> {
    const body: C2bRegisterUrlRequest = {
      ShortCode: input.shortCode,
      ResponseType: input.responseType,
      ConfirmationURL: input.confirmationUrl,
      ValidationURL: input.validationUrl,
    };
    let response: C2bRegisterUrlResponse;
    try {
      response = await this.post<C2bRegisterUrlResponse>('C2B_REGISTER', '/mpesa/c2b/v2/registerurl', body, context, () => undefined);
    } catch (error) {
      if (error instanceof DarajaError && ALREADY_REGISTERED.test(error.message)) {
        throw new DarajaError(DarajaOutcome.Rejected, error.message, error.httpStatus, error.errorCode, 'already_registered');
      }
      throw error;
    }
    const responseCode = response.ResponseCode === undefined ? '0' : String(response.ResponseCode);
    const responseDescription = response.ResponseDescription ?? '';
    if (responseCode !== '0') {
      const reason = ALREADY_REGISTERED.test(responseDescription) ? 'already_registered' : undefined;
      throw new DarajaError(DarajaOutcome.Rejected, responseDescription || `ResponseCode ${responseCode}`, 200, responseCode, reason);
    }
    return {
      originatorConversationId: response.OriginatorCoversationID ?? response.OriginatorConversationID ?? null,
      responseCode,
      responseDescription,
    };
  }

  /** Registers the shortcode for Pull Transactions (docs/daraja.md §17.2): 1000 registered, 1001 registered before. */
  async pullRegister(input: PullRegisterInput, context: DarajaCallContext = {}): Promise<PullRegistered> {
    const body: PullRegisterRequest = {
      ShortCode: input.shortCode,
      RequestType: 'Pull',
      NominatedNumber: input.nominatedNumber,
      CallBackURL: input.callbackUrl,
    };
    const response = await this.post<PullRegisterResponse>(
      'PULL_REGISTER',
      '/pulltransactions/v1/register',
      body,
      context,
      (r) => r?.ResponseRefID,
    );
    const responseStatus = String(response.ResponseStatus ?? response['Response Status'] ?? '');
    const responseDescription = String(response.ResponseDescription ?? response['Response Description'] ?? '');
    if (responseStatus !== '1000' && responseStatus !== '1001') {
      throw new DarajaError(
        DarajaOutcome.Rejected,
        responseDescription || `Pull registration answered ResponseStatus ${responseStatus || 'none'}`,
        200,
        responseStatus || null,
      );
    }
    return {
      responseRefId: response.ResponseRefID ?? null,
      responseStatus,
      responseDescription,
      alreadyRegistered: responseStatus === '1001',
    };
  }

  /** One page of Pull Transactions (docs/daraja.md §17.3-17.6). Returns the body's ResponseCode undecided. */
  async pullQuery(input: PullQueryInput, context: DarajaCallContext = {}): Promise<PullQueryAnswer> {
    const body: PullQueryRequest = {
      ShortCode: input.shortCode,
      StartDate: pullDateTime(input.start),
      EndDate: pullDateTime(input.end),
      OffSetValue: String(input.offset),
    };
    const response = await this.post<PullQueryResponse>('PULL_QUERY', '/pulltransactions/v1/query', body, context, (r) => r?.ResponseRefID);
    const records = flattenDeep(response.Response);
    const transactions: PullTransaction[] = [];
    let unreadable = 0;
    for (const record of records) {
      const parsed = parsePullTransaction(record);
      if (parsed) transactions.push(parsed);
      else unreadable++;
    }
    const count = (value: unknown) => (value === undefined || value === null || value === '' ? null : Number(value));
    return {
      responseCode: String(response.ResponseCode ?? ''),
      responseMessage: String(response.ResponseMessage ?? ''),
      transactions,
      unreadable,
      totalPages: count(response.TotalPages),
      totalRecords: count(response.TotalRecords),
    };
  }

  /** The initiator APIs answer alike: accepted for processing (ResponseCode "0"), or refused. */
  private async initiatorCall(
    api: DarajaCallRecord['api'],
    path: string,
    body: object,
    context: DarajaCallContext,
    transactionIdOf: (response: AsyncRequestAccepted | undefined) => string | undefined,
  ): Promise<AsyncRequestAccepted> {
    const response = await this.post<AsyncRequestAccepted>(api, path, body, context, transactionIdOf);
    if (String(response.ResponseCode) !== '0') {
      throw new DarajaError(
        DarajaOutcome.Rejected,
        response.ResponseDescription || `ResponseCode ${response.ResponseCode}`,
        200,
        String(response.ResponseCode),
      );
    }
    return response;
  }

  /** POSTs with a bearer token; on Daraja's invalid-token answer, refreshes the token and resends once. */
  private async post<T>(
    api: DarajaCallRecord['api'],
    path: string,
    body: object,
    context: DarajaCallContext,
    transactionIdOf: (response: T | undefined) => string | undefined,
  ): Promise<T> {
    let token = await this.auth.getToken();
    try {
      return await this.send<T>(api, path, body, token, context, transactionIdOf);
    } catch (error) {
      if (!(error instanceof DarajaError) || error.reason !== 'invalid_token') throw error;
      this.logger.warn(`Daraja refused the access token on ${path}; fetching a new one and resending once`);
      await this.auth.invalidate(token);
      token = await this.auth.getToken();
      return this.send<T>(api, path, body, token, context, transactionIdOf);
    }
  }

  private async send<T>(
    api: DarajaCallRecord['api'],
    path: string,
    body: object,
    token: string,
    context: DarajaCallContext,
    transactionIdOf: (response: T | undefined) => string | undefined,
  ): Promise<T> {
    // Every request (a resend after a refused token too) waits for its slot in the fleet's budget; a NotSent refusal
    // is not a Daraja call, so it is not recorded as one.
    await this.budget.acquire(api, context.forMoneyMovement ? 'money' : undefined);
    const started = Date.now();
    let status: number | null = null;
    let parsed: unknown;
    try {
      const response = await this.http.send({
        method: 'POST',
        path,
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json', Accept: 'application/json' },
        body: JSON.stringify(body),
      });
      status = response.status;
      parsed = parseJson(response.text);
      if (status < 200 || status > 299) {
        const error = classifyDarajaError(status, parsed);
        // Spike arrest / quota: the whole fleet slows down; this caller still gets Busy and its job backs off.
        if (error.reason === 'busy') await this.budget.reportRateLimited(api, error);
        await this.record({
          api,
          path,
          body,
          parsed,
          status,
          started,
          outcome: 'daraja_error',
          context,
          transactionId: transactionIdOf(undefined),
        });
        throw error;
      }
      if (!parsed || typeof parsed !== 'object') {
        // A 200 that is not JSON (a WAF or portal page): we cannot tell whether the request was acted on.
        await this.record({
          api,
          path,
          body,
          parsed,
          status,
          started,
          outcome: 'daraja_error',
          context,
          transactionId: transactionIdOf(undefined),
        });
        throw new DarajaError(DarajaOutcome.Unknown, `Daraja answered HTTP ${status} without JSON`, status, null, 'unreadable_answer');
      }
      await this.record({ api, path, body, parsed, status, started, outcome: 'ok', context, transactionId: transactionIdOf(parsed as T) });
      return parsed as T;
    } catch (error) {
      if (error instanceof DarajaError) throw error;
      const networkError = classifyNetworkError(error);
      await this.record({
        api,
        path,
        body,
        parsed: { error: networkError.message },
        status,
        started,
        outcome: networkError.outcome === DarajaOutcome.NotSent ? 'network_error' : 'timeout',
        context,
        transactionId: transactionIdOf(undefined),
      });
      throw networkError;
    }
  }

  private async record(call: {
    api: DarajaCallRecord['api'];
    path: string;
    body: object;
    parsed: unknown;
    status: number | null;
    started: number;
    outcome: DarajaCallRecord['outcome'];
    context: DarajaCallContext;
    transactionId?: string;
  }): Promise<void> {
    const { storeAnswered, ...context } = call.context;
    const record: DarajaCallRecord = {
      api: call.api,
      endpoint: call.path,
      request: redact(call.body),
      response: redact(call.parsed),
      statusCode: call.status,
      durationMs: Date.now() - call.started,
      outcome: call.outcome,
      transactionId: call.transactionId,
      context,
    };
    if (storeAnswered && call.outcome === 'ok') {
      record.storedByCaller = true;
      storeAnswered.record = record;
    }
    try {
      await this.observer.record(record);
    } catch (e) {
      // The call itself happened; losing its log row must not turn a paid push into an error.
      this.logger.error(`Could not record a Daraja ${call.api} call: ${String(e)}`);
    }
  }
}
