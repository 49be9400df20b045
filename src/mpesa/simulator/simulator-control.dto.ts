import { IsBoolean, IsIn, IsInt, IsNumber, IsOptional, Max, Min } from 'class-validator';
import { FAULT_KINDS, FaultKind, SIMULATED_ENDPOINTS, SimulatedEndpoint } from './simulator-faults';

export class QueueFaultsDto {
  /** Which simulated Daraja endpoint the faults hit. */
  @IsIn(SIMULATED_ENDPOINTS)
  endpoint: SimulatedEndpoint;

  @IsIn(FAULT_KINDS)
  kind: FaultKind;

  /** How many consecutive requests get the fault (default 1). */
  @IsOptional()
  @IsInt()
  @Min(1)
  @Max(10_000)
  count?: number;

  /** For `delay`: how long to hold the answer (default 35000). */
  @IsOptional()
  @IsInt()
  @Min(0)
  @Max(600_000)
  delayMs?: number;
}

export class CallbacksSwitchDto {
  @IsBoolean()
  enabled: boolean;
}

/** Largest simulated balance, in KES: keeps every balance an exact integer number of cents in Redis' Lua. */
export const MAX_SIMULATED_BALANCE = 10_000_000_000;

export class SetBalancesDto {
  /** The B2C Utility account, KES (two decimals at most): what payouts and reversals are paid from. */
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 })
  @Min(0)
  @Max(MAX_SIMULATED_BALANCE)
  utility: number;

  /** The Working account, KES; left as it is when omitted. */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false, maxDecimalPlaces: 2 })
  @Min(0)
  @Max(MAX_SIMULATED_BALANCE)
  working?: number;
}
