import { C2bResponseType } from '../../config/env.validation';

export class C2bValidationAnswerDto {
  /** "0" accepts; C2B00012 (invalid account number) or C2B00013 (invalid amount) refuses. @example "0" */
  ResultCode: string;
  /** @example "Accepted" */
  ResultDesc: string;
}

export class C2bConfirmationAnswerDto {
  /** @example 0 */
  ResultCode: number;
  /** @example "Success" */
  ResultDesc: string;
}

export class C2bRegistrationDto {
  /** The paybill or till the URLs were registered for (MPESA_C2B_SHORTCODE). @example "600984" */
  shortCode: string;
  /** What M-Pesa does when validation does not answer in time. @example "Completed" */
  responseType: C2bResponseType;
  /** As registered, without its token. @example "https://pay.example.com/api/payments/daraja/c2b/validation" */
  validationUrl: string;
  /** As registered, without its token. @example "https://pay.example.com/api/payments/daraja/c2b/confirmation" */
  confirmationUrl: string;
  originatorConversationId: string | null;
  /** M-Pesa's own words. @example "Success" */
  responseDescription: string;
}

export class C2bRegistrationResponseDto {
  success: boolean;
  message: string;
  data: C2bRegistrationDto;
}
