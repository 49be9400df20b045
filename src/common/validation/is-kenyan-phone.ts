import { registerDecorator } from 'class-validator';
import { normalizeKenyanPhone } from '../phone-number';

/** A phone number the service can normalise to Daraja's `2547…`/`2541…` (see normalizeKenyanPhone). */
export function IsKenyanPhone(): PropertyDecorator {
  return (target, propertyName) =>
    registerDecorator({
      name: 'isKenyanPhone',
      target: target.constructor,
      propertyName: propertyName as string,
      validator: {
        validate: (value: unknown) => normalizeKenyanPhone(value) !== undefined,
        defaultMessage: () => 'phoneNumber must be a Safaricom number: 07XXXXXXXX, 01XXXXXXXX, 2547XXXXXXXX, 2541XXXXXXXX or +2547XXXXXXXX',
      },
    });
}
