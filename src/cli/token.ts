import 'dotenv/config';
import { sign } from 'jsonwebtoken';
import { parseArgs } from 'node:util';
import { loadConfig } from '../config/configuration';
import { ConfigValidationError } from '../config/env.validation';

// `npm run token -- --role admin --sub u1 [--expires 1h]` prints a development JWT signed with JWT_SECRET.
try {
  const { values } = parseArgs({
    options: {
      role: { type: 'string', default: 'client' },
      sub: { type: 'string', default: 'client-1' },
      expires: { type: 'string', default: '12h' },
    },
  });
  if (values.role !== 'client' && values.role !== 'admin') throw new Error('--role must be client or admin');
  const token = sign({ sub: values.sub, role: values.role }, loadConfig().app.jwtSecret, {
    algorithm: 'HS256',
    expiresIn: values.expires as `${number}h`,
  });
  console.log(token);
} catch (e) {
  console.error(e instanceof ConfigValidationError || e instanceof Error ? e.message : e);
  process.exit(1);
}
