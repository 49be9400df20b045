import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'auth:isPublic';

/** Routes that Daraja, load balancers, Prometheus or the simulator's clients call without a LegalPro JWT. */
export const Public = () => SetMetadata(IS_PUBLIC, true);

export const SKIP_RATE_LIMITS = 'rate-limit:skip';

/**
 * Exempts a controller or route from every inbound rate limit (Daraja callbacks, health, metrics, the simulator): a
 * refused callback is a payment whose result arrives late or never.
 */
export const SkipRateLimits = () => SetMetadata(SKIP_RATE_LIMITS, true);
