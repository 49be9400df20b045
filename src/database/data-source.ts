import 'dotenv/config';
import { join } from 'node:path';
import { DataSourceOptions } from 'typeorm';
import { loadConfig } from '../config/configuration';
import { AuditEvent } from '../audit/audit-event.entity';
import { TransactionLog } from '../audit/transaction-log.entity';
import { Notification, NotificationAttempt } from '../notifications/notification.entity';
import { IdempotencyRecord } from '../payments/idempotency-record.entity';
import { Payment } from '../payments/payment.entity';
import { Payout } from '../payments/payouts/payout.entity';
import { Reversal } from '../payments/reversals/reversal.entity';
import { BalanceSnapshot } from '../treasury/balance-snapshot.entity';
import { TransactionStatusQuery } from '../treasury/transaction-status-query.entity';
import { AlertEpisode } from '../alerts/alert-episode.entity';

export const ENTITIES = [
  Payment,
  IdempotencyRecord,
  TransactionLog,
  AuditEvent,
  Notification,
  NotificationAttempt,
  Payout,
  Reversal,
  BalanceSnapshot,
  TransactionStatusQuery,
  AlertEpisode,
];

/** The one definition of how we reach Postgres: the app module and the migration CLI both use it. */
export function dataSourceOptions(): DataSourceOptions {
  const { database } = loadConfig();
  return {
    type: 'postgres',
    url: database.url,
    entities: ENTITIES,
    migrations: [join(__dirname, '..', '..', 'migrations', '*.js')],
    migrationsTableName: 'schema_migrations',
    synchronize: false,
    extra: { max: database.poolSize },
  };
}

