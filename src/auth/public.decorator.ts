import { SetMetadata } from '@nestjs/common';

export const IS_PUBLIC = 'auth:isPublic';

/** Routes that Daraja, load balancers or the simulator call without a LegalPro JWT. */
export const Public = () => SetMetadata(IS_PUBLIC, true);
