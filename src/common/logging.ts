import type { Params } from 'nestjs-pino';

/** JSON logs; secrets and phone numbers are censored wherever they would appear in request logs. */
export function loggerOptions(level: string): Params {
  return {
    pinoHttp: {
      level,
      autoLogging: { ignore: (req) => (req.url ?? '').startsWith('/health') },
      redact: {
        paths: ['req.headers.authorization', 'req.headers.cookie', 'req.query.token', 'req.query'],
        censor: '[REDACTED]',
      },
      serializers: {
        // Callback URLs carry a token in the query string: log the path only.
        req: (req: { id: unknown; method: string; url: string }) => ({ id: req.id, method: req.method, path: req.url.split('?')[0] }),
      },
      customProps: (req) => ({ requestId: (req as { id?: unknown }).id }),
    },
  };
}
