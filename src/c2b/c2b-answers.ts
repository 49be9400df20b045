/** What a C2B validation request is answered (docs/daraja.md §9.8): `ResultCode` is text, "0" accepts. */
export interface C2bValidationAnswer {
  ResultCode: string;
  ResultDesc: string;
}

/** What a C2B confirmation is answered once it is stored (docs/daraja.md §9.8): `ResultCode` is the number 0. */
export interface C2bConfirmationAnswer {
  ResultCode: number;
  ResultDesc: string;
}

export const C2B_ACCEPT: C2bValidationAnswer = { ResultCode: '0', ResultDesc: 'Accepted' };
/** The account number matches no bill (or push) owing money to us: the customer's SMS says so. */
export const C2B_INVALID_ACCOUNT: C2bValidationAnswer = { ResultCode: 'C2B00012', ResultDesc: 'Rejected: invalid account number' };
/** Below 1 shilling, or not whole shillings. */
export const C2B_INVALID_AMOUNT: C2bValidationAnswer = { ResultCode: 'C2B00013', ResultDesc: 'Rejected: invalid amount' };
export const C2B_CONFIRMED: C2bConfirmationAnswer = { ResultCode: 0, ResultDesc: 'Success' };
