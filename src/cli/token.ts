import 'dotenv/config';
import { decode, sign } from 'jsonwebtoken';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/configuration';
import { ConfigValidationError } from '../config/env.validation';

// `npm run token -- --role admin --sub u1 [--expires 1h]` prints a development JWT signed with JWT_SECRET, with the
// iss and aud the service checks (JWT_ISSUER, JWT_AUDIENCE) and an exp it accepts (at most JWT_MAX_AGE_SECONDS away).
try {
  const { values } = parseArgs({
    options: {
      role: { type: 'string', default: 'client' },
      sub: { type: 'string', default: 'client-1' },
      // Default: 12 hours, or JWT_MAX_AGE_SECONDS when that is shorter.
      expires: { type: 'string' },
    },
  });
  if (values.role !== 'client' && values.role !== 'admin') throw new Error('--role must be client or admin');
  const app = loadConfig().app;
  const token = sign({ sub: values.sub, role: values.role }, app.jwtSecret, {
    algorithm: 'HS256',
    expiresIn: values.expires ? (values.expires as `${number}h`) : Math.min(12 * 3_600, app.jwtMaxAgeSeconds),
    ...(app.jwtIssuer ? { issuer: app.jwtIssuer } : {}),
    ...(app.jwtAudience ? { audience: app.jwtAudience } : {}),
  });
  // The service refuses a token that lives longer than JWT_MAX_AGE_SECONDS: say so now rather than with a 401 later.
  const { exp, iat } = decode(token, { json: true }) ?? {};
  if (exp === undefined || iat === undefined || exp - iat > app.jwtMaxAgeSeconds) {
    throw new Error(`--expires must be at most JWT_MAX_AGE_SECONDS (${app.jwtMaxAgeSeconds} s)`);
  }
  if (exp <= iat) throw new Error('--expires must be in the future');
  console.log(token);
} catch (e) {
  console.error(e instanceof ConfigValidationError || e instanceof Error ? e.message : e);
  process.exit(1);
}
