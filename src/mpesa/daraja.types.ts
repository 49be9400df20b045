/** Daraja's wire format, in its own PascalCase (see docs/daraja.md). */

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

export type B2cCommandId = 'BusinessPayment' | 'SalaryPayment' | 'PromotionPayment';

/** B2C v3 (docs/daraja.md §5.1), the only version this service sends: its OriginatorConversationID is ours. */
export interface B2cPaymentRequest {
  OriginatorConversationID?: string;
  InitiatorName: string;
  SecurityCredential: string;
  CommandID: B2cCommandId;
  /** Whole shillings. */
  Amount: number;
  /** The B2C shortcode paying out (its Utility account is debited). */
  PartyA: string;
  /** The customer's MSISDN, 2547XXXXXXXX, as a number like STK's. */
  PartyB: number;
  Remarks: string;
  QueueTimeOutURL: string;
  ResultURL: string;
  /** Daraja's v3 spelling. */
  Occassion?: string;
}

/** Reference §6. Note `Initiator`, not `InitiatorName`. */
export interface AccountBalanceRequest {
  Initiator: string;
  SecurityCredential: string;
  CommandID: 'AccountBalance';
  PartyA: string;
  /** 4 = organisation shortcode. */
  IdentifierType: '4';
  Remarks: string;
  QueueTimeOutURL: string;
  ResultURL: string;
}

/** Reference §7. `RecieverIdentifierType` is Safaricom's spelling: the correct one is refused. */
export interface TransactionReversalRequest {
  Initiator: string;
  SecurityCredential: string;
  CommandID: 'TransactionReversal';
  /** The M-Pesa receipt of the payment to reverse. */
  TransactionID: string;
  Amount: number;
  /** The shortcode that received the payment. */
  ReceiverParty: string;
  RecieverIdentifierType: '11';
  ResultURL: string;
  QueueTimeOutURL: string;
  Remarks: string;
  Occasion?: string;
}

/** Reference §8 (the doc sample's `Command ID` / `Transaction ID` with spaces are typos). */
export interface TransactionStatusRequest {
  Initiator: string;
  SecurityCredential: string;
  CommandID: 'TransactionStatusQuery';
  TransactionID?: string;
  /** The docs' name. */
  OriginalConversationID?: string;
  /** What SDKs send; which of the two Daraja honours is unverified, so both carry the same value. */
  OriginatorConversationID?: string;
  PartyA: string;
  IdentifierType: '4';
  ResultURL: string;
  QueueTimeOutURL: string;
  Remarks: string;
  Occasion?: string;
}

/** The synchronous answer of every initiator API: accepted for processing; the outcome comes to the ResultURL. */
export interface AsyncRequestAccepted {
  OriginatorConversationID: string;
  ConversationID: string;
  ResponseCode: string;
  ResponseDescription: string;
}

export interface ResultParameterItem {
  Key: string;
  Value?: string | number;
}

/**
 * The result envelope POSTed to ResultURL by B2C, Account Balance, Reversal and Transaction Status (docs/daraja.md §5.3,
 * §6, §7, §8). Codes are numbers or strings (`"R000002"`); parameters and reference items are one object or an array.
 */
export interface DarajaResultPayload {
  Result: {
    ResultType: number | string;
    ResultCode: number | string;
    ResultDesc: string;
    OriginatorConversationID: string;
    ConversationID: string;
    TransactionID?: string;
    ResultParameters?: { ResultParameter: ResultParameterItem | ResultParameterItem[] };
    ReferenceData?: { ReferenceItem: ResultParameterItem | ResultParameterItem[] };
  };
}

/** C2B Register URL v2 (docs/daraja.md §9.2). `ResponseType` says what M-Pesa does when validation does not answer. */
export interface C2bRegisterUrlRequest {
  ShortCode: string;
  ResponseType: 'Completed' | 'Cancelled';
  ConfirmationURL: string;
  ValidationURL: string;
}

/** Both versions misspell `OriginatorCoversationID`; the description's case varies (docs/daraja.md §9.2). */
export interface C2bRegisterUrlResponse {
  OriginatorCoversationID?: string;
  OriginatorConversationID?: string;
  ResponseCode?: string | number;
  ResponseDescription?: string;
}

/**
 * What M-Pesa POSTs to the C2B validation and confirmation URLs (docs/daraja.md §9.5): strings on the wire, though a
 * handler should accept numbers too; the names (and, on business payments, MiddleName/LastName) may be missing.
 */
export interface C2bCallbackPayload {
  TransactionType: string;
  TransID: string;
  TransTime: string;
  TransAmount: string;
  BusinessShortCode: string;
  BillRefNumber?: string;
  InvoiceNumber?: string;
  /** The shortcode's balance after the payment; blank in validation requests. */
  OrgAccountBalance?: string;
  ThirdPartyTransID?: string;
  /** Masked (`2547 ***** 126`), SHA-256 hex, plain or empty (§9.7): never an identity. */
  MSISDN?: string;
  FirstName?: string;
  MiddleName?: string;
  LastName?: string;
}

/** Pull Transactions registration (docs/daraja.md §17.2). */
export interface PullRegisterRequest {
  ShortCode: string;
  RequestType: 'Pull';
  NominatedNumber: string;
  CallBackURL: string;
}

/** The 3.0 docs' keys, and the 2.0 docs' keys with spaces: read both (docs/daraja.md §17.2). */
export interface PullRegisterResponse {
  ResponseRefID?: string;
  ResponseStatus?: string | number;
  'Response Status'?: string | number;
  ShortCode?: string;
  ResponseDescription?: string;
  'Response Description'?: string;
}

/** Pull Transactions query (docs/daraja.md §17.3): Kenya time `YYYY-MM-DD HH:mm:ss`, inside the last 48 hours. */
export interface PullQueryRequest {
  ShortCode: string;
  StartDate: string;
  EndDate: string;
  OffSetValue: string;
}

/** One transaction as Pull lists it: lower-case keys, unlike the rest of Daraja (docs/daraja.md §17.4). */
export interface PullWireTransaction {
  transactionId?: string;
  trxDate?: string;
  msisdn?: string | number;
  sender?: string;
  transactiontype?: string;
  billreference?: string;
  amount?: string | number;
  organizationname?: string;
}

export interface PullQueryResponse {
  ResponseRefID?: string;
  ResponseCode?: string | number;
  ResponseMessage?: string;
  /** An array of arrays of transactions (sometimes one level only): flatten every level. */
  Response?: unknown;
  TotalPages?: number | string;
  TotalRecords?: number | string;
}

/** Every Daraja API the client calls; the `transaction_type` of their transaction-log rows. */
export const DARAJA_APIS = [
  'OAUTH',
  'STK_PUSH',
  'STK_QUERY',
  'B2C',
  'ACCOUNT_BALANCE',
  'REVERSAL',
  'TRANSACTION_STATUS',
  'C2B_REGISTER',
  'PULL_REGISTER',
  'PULL_QUERY',
] as const;
export type DarajaApiName = (typeof DARAJA_APIS)[number];

/** What the client reports of each HTTP exchange, already redacted; the app decides where it is stored. */
export interface DarajaCallRecord {
  api: DarajaApiName;
  endpoint: string;
  request: unknown;
  response: unknown;
  statusCode: number | null;
  durationMs: number;
  outcome: 'ok' | 'daraja_error' | 'network_error' | 'timeout';
  transactionId?: string;
  context: DarajaCallContext;
  /** The caller stores this record itself (see DarajaCallContext.storeAnswered); observers only count and log it. */
  storedByCaller?: boolean;
}

/** Correlation data a caller passes through the client to the call record. */
export interface DarajaCallContext {
  reference?: string;
  requestId?: string;
  userId?: string;
  /**
   * The call is a step of a money movement (the balance check before a B2C): it is served with the money-moving
   * calls in the budget, not paused with the status queries during a cool-down.
   */
  forMoneyMovement?: boolean;
  /**
   * The caller writes the record of a call Daraja answered with a body (outcome `ok`) in its own next statement (the
   * STK push's UPDATE with Daraja's ids: one round trip less per push): the client puts the record here, marked
   * `storedByCaller`, instead of having it stored. Records of other outcomes are stored as always.
   */
  storeAnswered?: AnsweredCall;
}

/** Where the client puts the record of an answered call its caller stores itself (DarajaCallContext.storeAnswered). */
export interface AnsweredCall {
  record?: DarajaCallRecord;
}

export interface DarajaCallObserver {
  record(call: DarajaCallRecord): Promise<void>;
}
