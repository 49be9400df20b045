/** Daraja's wire format, in its own PascalCase (see shared/daraja/reference.md). */

export interface OAuthResponse {
  access_token: string;
  /** A string in practice ("3599"), a number in the docs. */
  expires_in: string | number;
}

export interface DarajaErrorBody {
  requestId?: string;
  errorCode?: string;
  errorMessage?: string;
}

export interface StkPushRequest {
  BusinessShortCode: number;
  Password: string;
  Timestamp: string;
  TransactionType: 'CustomerPayBillOnline' | 'CustomerBuyGoodsOnline';
  Amount: number;
  PartyA: number;
  PartyB: number;
  PhoneNumber: number;
  CallBackURL: string;
  AccountReference: string;
  TransactionDesc: string;
}

export interface StkPushResponse {
  MerchantRequestID: string;
  CheckoutRequestID: string;
  ResponseCode: string;
  ResponseDescription: string;
  CustomerMessage: string;
}

export interface StkQueryRequest {
  BusinessShortCode: number;
  Password: string;
  Timestamp: string;
  CheckoutRequestID: string;
}

export interface StkQueryResponse {
  ResponseCode: string;
  ResponseDescription: string;
  MerchantRequestID: string;
  CheckoutRequestID: string;
  ResultCode: string | number;
  ResultDesc: string;
}

export interface StkCallbackItem {
  Name: string;
  Value?: string | number;
}

export interface StkCallbackPayload {
  Body: {
    stkCallback: {
      MerchantRequestID: string;
      CheckoutRequestID: string;
      ResultCode: number | string;
      ResultDesc: string;
      CallbackMetadata?: { Item: StkCallbackItem[] };
    };
  };
}

/** What the client reports of each HTTP exchange, already redacted; the app decides where it is stored. */
export interface DarajaCallRecord {
  api: 'OAUTH' | 'STK_PUSH' | 'STK_QUERY';
  endpoint: string;
  request: unknown;
  response: unknown;
  statusCode: number | null;
  durationMs: number;
  outcome: 'ok' | 'daraja_error' | 'network_error' | 'timeout';
  transactionId?: string;
  context: DarajaCallContext;
}

/** Correlation data a caller passes through the client to the call record. */
export interface DarajaCallContext {
  reference?: string;
  requestId?: string;
  userId?: string;
}

export interface DarajaCallObserver {
  record(call: DarajaCallRecord): Promise<void>;
}

export const DARAJA_CALL_OBSERVER = Symbol('DARAJA_CALL_OBSERVER');
