import { Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import type { FastifyInstance } from 'fastify';
import { STATEMENT_CONTENT_TYPES, STATEMENT_MAX_BYTES } from './statement-body';

/**
 * Lets Fastify read a statement upload: its CSV content types as raw bytes (the file type is told from them, and the
 * import hashes what it reads), up to STATEMENT_MAX_BYTES instead of the API's usual 256 KB. Added while the app
 * initialises, before Fastify is ready; a worker process (no HTTP) has nothing to add it to.
 */
@Injectable()
export class StatementBodyParser implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify?.addContentTypeParser) return;
    for (const type of STATEMENT_CONTENT_TYPES) {
      if (fastify.hasContentTypeParser(type)) continue;
      fastify.addContentTypeParser(type, { parseAs: 'buffer', bodyLimit: STATEMENT_MAX_BYTES }, (_request, body, done) => done(null, body));
    }
  }
}
