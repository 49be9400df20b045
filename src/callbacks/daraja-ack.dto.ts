/** What Daraja gets back for a callback it may stop resending. */
export class DarajaAckDto {
  /** @example 0 */
  ResultCode: number;
  /** @example "Accepted" */
  ResultDesc: string;
}
