import { Injectable } from '@nestjs/common';
import { Database, Tx } from '../../database/database';
import { raw, Sql, sql } from '../../database/sql';

export enum EndpointDisabledReason {
  /** An admin turned it off (PATCH enabled: false). */
  Admin = 'admin',
  /** Every delivery failed for WEBHOOK_DISABLE_AFTER_HOURS. */
  Failing = 'failing',
}

/** What fan-out needs of an endpoint. */
export type WebhookRoute = Pick<WebhookEndpointRow, 'id' | 'enabled' | 'events'>;

export interface WebhookEndpointRow {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  enabled: boolean;
  secretEncrypted: string;
  previousSecretEncrypted: string | null;
  previousSecretExpiresAt: Date | null;
  failingSince: Date | null;
  disabledAt: Date | null;
  disabledReason: EndpointDisabledReason | null;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewWebhookEndpoint {
  id: string;
  url: string;
  events: string[];
  description: string | null;
  secretEncrypted: string;
  createdBy: string | null;
}

export interface WebhookEndpointChanges {
  url?: string;
  events?: string[];
  description?: string | null;
  enabled?: boolean;
}

const COLUMNS = raw(`id, url, events, description, enabled, secret_encrypted AS "secretEncrypted",
  previous_secret_encrypted AS "previousSecretEncrypted", previous_secret_expires_at AS "previousSecretExpiresAt",
  failing_since AS "failingSince", disabled_at AS "disabledAt", disabled_reason AS "disabledReason", created_by AS "createdBy",
  created_at AS "createdAt", updated_at AS "updatedAt"`);

/** The only writer of `webhook_endpoints`. */
@Injectable()
export class WebhookEndpointsRepository {
  constructor(private readonly db: Database) {}

  async insert(tx: Tx, e: NewWebhookEndpoint): Promise<WebhookEndpointRow> {
    return (await this.db.one<WebhookEndpointRow>(
      sql`INSERT INTO webhook_endpoints (id, url, events, description, secret_encrypted, created_by)
          VALUES (${e.id}, ${e.url}, ${e.events}::text[], ${e.description}, ${e.secretEncrypted}, ${e.createdBy})
          RETURNING ${COLUMNS}`,
      tx,
    )) as WebhookEndpointRow;
  }

  findById(id: string, tx?: Tx): Promise<WebhookEndpointRow | null> {
    return this.db.one<WebhookEndpointRow>(sql`SELECT ${COLUMNS} FROM webhook_endpoints WHERE id = ${id}`, tx);
  }

  /** Locks the row for a change (an admin's edit against a worker disabling it). */
  lock(tx: Tx, id: string): Promise<WebhookEndpointRow | null> {
    return this.db.one<WebhookEndpointRow>(sql`SELECT ${COLUMNS} FROM webhook_endpoints WHERE id = ${id} FOR UPDATE`, tx);
  }

  /**
   * Every endpoint's routing (id, enabled, event patterns) as one json array, read by the statement with which
   * a worker claims events for delivery (NotificationsRepository.lockDueWebhooks): no round trip of its own.
   */
  routesSql(): Sql {
    return sql`SELECT COALESCE(json_agg(json_build_object('id', id, 'enabled', enabled, 'events', events) ORDER BY created_at, id), '[]')
                 FROM webhook_endpoints`;
  }

  list(): Promise<WebhookEndpointRow[]> {
    return this.db.query<WebhookEndpointRow>(sql`SELECT ${COLUMNS} FROM webhook_endpoints ORDER BY created_at, id`);
  }

  /**
   * An admin's change. Turning an endpoint on again forgets why it was off and since when it was failing (its next
   * failure starts a new count); turning it off records that an admin did.
   */
  async update(tx: Tx, id: string, c: WebhookEndpointChanges): Promise<WebhookEndpointRow | null> {
    return this.db.one<WebhookEndpointRow>(
      sql`UPDATE webhook_endpoints
             SET url = COALESCE(${c.url ?? null}::text, url),
                 events = COALESCE(${c.events ?? null}::text[], events),
                 description = CASE WHEN ${c.description !== undefined}::boolean THEN ${c.description ?? null}::varchar ELSE description END,
                 enabled = COALESCE(${c.enabled ?? null}::boolean, enabled),
                 disabled_at = CASE WHEN ${c.enabled ?? null}::boolean IS TRUE THEN NULL
                                    WHEN ${c.enabled ?? null}::boolean IS FALSE AND enabled THEN now() ELSE disabled_at END,
                 disabled_reason = CASE WHEN ${c.enabled ?? null}::boolean IS TRUE THEN NULL
                                        WHEN ${c.enabled ?? null}::boolean IS FALSE AND enabled THEN 'admin' ELSE disabled_reason END,
                 failing_since = CASE WHEN ${c.enabled ?? null}::boolean IS TRUE AND NOT enabled THEN NULL ELSE failing_since END,
                 updated_at = now()
           WHERE id = ${id}
          RETURNING ${COLUMNS}`,
      tx,
    );
  }

  /** The new secret signs from now on; the old one beside it until `previousExpiresAt`. */
  async rotateSecret(
    tx: Tx,
    id: string,
    secretEncrypted: string,
    previousSecretEncrypted: string,
    previousExpiresAt: Date,
  ): Promise<WebhookEndpointRow | null> {
    return this.db.one<WebhookEndpointRow>(
      sql`UPDATE webhook_endpoints
             SET secret_encrypted = ${secretEncrypted}, previous_secret_encrypted = ${previousSecretEncrypted},
                 previous_secret_expires_at = ${previousExpiresAt}, updated_at = now()
           WHERE id = ${id}
          RETURNING ${COLUMNS}`,
      tx,
    );
  }

  /** Its deliveries and their attempts go with it (ON DELETE CASCADE); the audit trail keeps that it existed. */
  async delete(tx: Tx, id: string): Promise<boolean> {
    return (await this.db.query(sql`DELETE FROM webhook_endpoints WHERE id = ${id} RETURNING id`, tx)).length > 0;
  }

  /** A delivery got through: the endpoint is not failing (one statement, no lock: the last word wins either way). */
  async markAnswering(id: string): Promise<void> {
    await this.db.query(sql`UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ${id} AND failing_since IS NOT NULL`);
  }

  /** A delivery failed: the endpoint has been failing since its first failure after its last success. */
  async markFailing(id: string): Promise<Date | null> {
    const row = await this.db.one<{ failingSince: Date }>(
      sql`UPDATE webhook_endpoints SET failing_since = COALESCE(failing_since, now()) WHERE id = ${id}
          RETURNING failing_since AS "failingSince"`,
    );
    return row?.failingSince ?? null;
  }

  /**
   * Disables an endpoint that is still enabled and has been failing since before `failingBefore`; only the caller
   * that disabled it gets the row (so it is audited and announced once).
   */
  disableFailing(tx: Tx, id: string, failingBefore: Date): Promise<WebhookEndpointRow | null> {
    return this.db.one<WebhookEndpointRow>(
      sql`UPDATE webhook_endpoints SET enabled = false, disabled_at = now(), disabled_reason = 'failing', updated_at = now()
           WHERE id = ${id} AND enabled AND failing_since IS NOT NULL AND failing_since <= ${failingBefore}
          RETURNING ${COLUMNS}`,
      tx,
    );
  }
}
