import { IsBoolean, IsIn, IsInt, IsOptional, Max, Min } from 'class-validator';
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
