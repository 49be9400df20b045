/** The body of every error answer (see AppErrorFilter). */
export class ErrorResponseDto {
  /** @example false */
  success: boolean;
  /** @example "amount must be at least 1" */
  message: string;
  /** @example "VALIDATION_ERROR" */
  code?: string;
  details?: Record<string, unknown>;
}
