// For integration tests: src/'s own classes on the run's migrated Postgres database and on the real Redis, under the
// run's key prefix (test/support/integration-global-setup.ts), without the app, HTTP or mocks.
//
//   let pg: IntegrationDb;
//   beforeAll(async () => (pg = await openIntegrationDb()));
//   afterAll(() => pg.close());
//   const payments = new PaymentsRepository(pg.db);
//
//   let redis: IntegrationRedis;
//   beforeAll(async () => (redis = await openIntegrationRedis()));
//   afterAll(() => redis.close());
//   const keys = new RedisKeys({ keyPrefix: redis.newKeyPrefix() } as ConfigType<typeof redisConfig>);
//
// Test files run in parallel on one database and one Redis: every row a test writes is its own (fresh ids, unique
// phone hashes), and its assertions look only at those rows; every Redis key is under a prefix of the file's own.
import { randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { DataSource } from 'typeorm';
import { AlertEpisode } from '../../src/alerts/alert-episode.entity';
import { AuditEvent } from '../../src/audit/audit-event.entity';
import { Bill } from '../../src/bills/bill.entity';
import { TransactionLog } from '../../src/audit/transaction-log.entity';
import { Database, Tx } from '../../src/database/database';
import { raw, Sql, sql } from '../../src/database/sql';
import { Notification, NotificationAttempt } from '../../src/notifications/notification.entity';
import { IdempotencyRecord } from '../../src/payments/idempotency/idempotency-record.entity';
import { MpesaReceipt } from '../../src/payments/mpesa-receipt.entity';
import { Payment } from '../../src/payments/payment.entity';
import { PaymentStatus, PaymentType, StkPushStatus } from '../../src/payments/payment-status';
import { PaymentsRepository } from '../../src/payments/payments.repository';
import { Payout, PayoutKind, PayoutStatus } from '../../src/payouts/payout.entity';
import { PayoutsRepository } from '../../src/payouts/payouts.repository';
import { Review } from '../../src/reviews/review.entity';
import { Reversal } from '../../src/payouts/reversals/reversal.entity';
import { BalanceSnapshot } from '../../src/treasury/balance-snapshot.entity';
import { TransactionStatusQuery } from '../../src/treasury/transaction-status-query.entity';
import { PROJECT_ROOT } from './e2e-state';
import {
  INTEGRATION_DATABASE_COPY_URLS_VAR,
  INTEGRATION_DATABASE_URL_VAR,
  INTEGRATION_REDIS_KEY_PREFIX_VAR,
  INTEGRATION_REDIS_URL_VAR,
} from './integration-global-teardown';
import { redact } from './resources';

/** Every entity of src/**\/*.entity.ts, as the app registers them (checked against the files in openIntegrationDb). */
const ENTITIES = [
  AlertEpisode,
  AuditEvent,
  TransactionLog,
  Notification,
  NotificationAttempt,
  IdempotencyRecord,
  Payment,
  MpesaReceipt,
  Bill,
  Payout,
  Reversal,
  Review,
  BalanceSnapshot,
  TransactionStatusQuery,
];

function entityFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? entityFiles(path) : entry.name.endsWith('.entity.ts') ? [path] : [];
  });
}

/** A new entity in src/ that this list lacks would fail its tests with "No metadata for ...": say so up front. */
function checkEntityList(): void {
  const declared = entityFiles(join(PROJECT_ROOT, 'src')).reduce(
    (n, file) => n + (readFileSync(file, 'utf8').match(/@Entity\(/g)?.length ?? 0),
    0,
  );
  if (declared !== ENTITIES.length) {
    throw new Error(
      `src/ declares ${declared} entities, test/support/integration.ts lists ${ENTITIES.length}: add the new one to ENTITIES`,
    );
  }
}

export interface IntegrationDb {
  dataSource: DataSource;
  /** src/database/database.ts's runner: what every repository is built on. */
  db: Database;
  close(): Promise<void>;
}

export function integrationDatabaseUrl(): string {
  const url = process.env[INTEGRATION_DATABASE_URL_VAR];
  if (!url) {
    throw new Error(
      `${INTEGRATION_DATABASE_URL_VAR} is not set: run integration tests through jest's integration project ` +
        '(`npx jest --selectProjects integration`), whose globalSetup creates and migrates the database',
    );
  }
  // This worker's own copy when files run side by side (see integration-global-setup.ts).
  const urls = [url, ...(JSON.parse(process.env[INTEGRATION_DATABASE_COPY_URLS_VAR] ?? '[]') as string[])];
  const worker = Number(process.env.JEST_WORKER_ID ?? 1);
  return urls[(Math.max(1, worker) - 1) % urls.length];
}

/** A DataSource on the run's database (the migrated schema, never synchronize) and a Database over it. */
export async function openIntegrationDb(options: { poolSize?: number } = {}): Promise<IntegrationDb> {
  checkEntityList();
  const dataSource = new DataSource({
    type: 'postgres',
    url: integrationDatabaseUrl(),
    entities: ENTITIES,
    synchronize: false,
    migrationsRun: false,
    extra: { max: options.poolSize ?? 12 },
  });
  await dataSource.initialize();
  return { dataSource, db: new Database(dataSource), close: () => dataSource.destroy() };
}

export interface IntegrationRedis {
  /** A real ioredis client on the run's Redis, as src/common/redis/redis.module.ts makes the app's. */
  redis: Redis;
  /** This file's own prefix, under the run's: `lpint<jest pid>x<hex>:<hex>`. Give it (or newKeyPrefix()) to RedisKeys. */
  keyPrefix: string;
  /** A fresh prefix under keyPrefix (`<keyPrefix>:<n>`): an empty keyspace, for a test that must not see another's keys. */
  newKeyPrefix(): string;
  /** Deletes every key under keyPrefix (SCAN + UNLINK), then disconnects. The run's teardown deletes whatever is left. */
  close(): Promise<void>;
}

function integrationVar(name: string, what: string): string {
  const value = process.env[name];
  if (!value) {
    throw new Error(
      `${name} is not set: run integration tests through jest's integration project ` +
        `(\`npx jest --selectProjects integration\`), whose globalSetup ${what}`,
    );
  }
  return value;
}

/** A client on the run's Redis (scripts/services.sh's, found as the e2e tier finds it) and a key prefix of this file's own. */
export async function openIntegrationRedis(): Promise<IntegrationRedis> {
  const url = integrationVar(INTEGRATION_REDIS_URL_VAR, 'starts Redis and chooses the key prefix');
  const keyPrefix = `${integrationVar(INTEGRATION_REDIS_KEY_PREFIX_VAR, 'chooses the key prefix')}:${randomBytes(4).toString('hex')}`;
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 3, enableReadyCheck: true });
  try {
    await redis.connect();
  } catch (e) {
    redis.disconnect();
    throw new Error(`cannot connect to Redis at ${redact(url)} (\`bash scripts/services.sh start\` starts it): ${(e as Error).message}`);
  }
  let prefixes = 0;
  return {
    redis,
    keyPrefix,
    newKeyPrefix: () => `${keyPrefix}:${++prefixes}`,
    close: async () => {
      try {
        let cursor = '0';
        do {
          const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyPrefix}:*`, 'COUNT', 1000);
          cursor = next;
          if (keys.length > 0) await redis.unlink(...keys);
        } while (cursor !== '0');
      } finally {
        await redis.quit().catch(() => redis.disconnect());
      }
    },
  };
}

/** `SELECT count(*)::int AS n ...` as a number. */
export async function count(db: Database, statement: Sql, tx?: Tx): Promise<number> {
  const row = await db.one<{ n: number }>(statement, tx);
  return row?.n ?? 0;
}

/** 64 hex characters, like the keyed hash of a phone number: unique, so the one-pending-per-phone index never trips. */
const phoneHash = () => randomBytes(32).toString('hex');

export interface PaymentRow {
  amount?: number;
  status?: PaymentStatus;
  initiatedAt?: Date;
  reviewReason?: string;
  checkoutRequestId?: string;
  merchantRequestId?: string;
  receipt?: string;
  /** When an `expired` (or otherwise unpaid) payment got its verdict. */
  failedAt?: Date;
  lateQueries?: number;
}

/**
 * A payment written by PaymentsRepository.insert (pending, as a push starts), then put in the state the test needs
 * with plain SQL. Returns it as the repository reads it.
 */
export async function insertPayment(db: Database, row: PaymentRow = {}): Promise<Payment> {
  const payments = new PaymentsRepository(db);
  const id = randomUUID();
  await payments.insert(
    {
      id,
      clientId: `client-${randomUUID()}`,
      appointmentId: null,
      amount: row.amount ?? 1_000,
      paymentType: PaymentType.ConsultationFee,
      description: 'Consultation fee',
      // Any text stands in for the ciphertext here: no test reads the phone back.
      phoneNumberEncrypted: `sealed-${randomUUID()}`,
      phoneNumberHash: phoneHash(),
      accountReference: 'LP-TEST',
      transactionDesc: 'Consultation',
      stkPushStatus: StkPushStatus.Initiating,
      maxRetries: 3,
      idempotencyKey: null,
      requestId: null,
      requestPayload: null,
      customerName: null,
      customerEmailEncrypted: null,
      billId: null,
    },
    {},
  );
  await db.query(
    sql`UPDATE payments
           SET status = COALESCE(${row.status ?? null}, status),
               initiated_at = COALESCE(${row.initiatedAt ?? null}::timestamptz, initiated_at),
               review_reason = ${row.reviewReason ?? null},
               checkout_request_id = ${row.checkoutRequestId ?? null},
               merchant_request_id = ${row.merchantRequestId ?? null},
               mpesa_receipt_number = ${row.receipt ?? null},
               stk_push_status = CASE WHEN ${row.checkoutRequestId ?? null}::varchar IS NULL THEN stk_push_status ELSE 'accepted' END,
               completed_at = CASE WHEN ${row.status ?? null}::varchar = 'completed' THEN now() END,
               failed_at = ${row.failedAt ?? null}::timestamptz,
               late_queries = ${row.lateQueries ?? 0}
         WHERE id = ${id}`,
  );
  return (await payments.findById(id)) as Payment;
}

/** A refund of `payment` written by PayoutsRepository.insert (pending) in `tx`. */
export function insertRefund(db: Database, tx: Tx, payment: Payment, amount: number): Promise<Payout> {
  return new PayoutsRepository(db).insert(tx, {
    id: randomUUID(),
    kind: PayoutKind.Refund,
    paymentId: payment.id,
    clientId: payment.clientId,
    amount,
    commandId: 'BusinessPayment',
    phoneNumberEncrypted: payment.phoneNumberEncrypted,
    phoneNumberHash: payment.phoneNumberHash,
    remarks: `Refund ${payment.accountReference}`,
    reason: 'Consultation cancelled',
    originatorConversationId: `LP${randomBytes(9).toString('hex')}`,
    requestedBy: 'admin-integration',
    requestId: null,
  });
}

/** A disbursement (no payment behind it) in `status`: written pending by PayoutsRepository.insert, then moved by SQL. */
export async function insertPayout(db: Database, status: PayoutStatus = PayoutStatus.Pending): Promise<Payout> {
  const payout = await db.transaction((tx) =>
    new PayoutsRepository(db).insert(tx, {
      id: randomUUID(),
      kind: PayoutKind.Disbursement,
      paymentId: null,
      clientId: `client-${randomUUID()}`,
      amount: 500,
      commandId: 'BusinessPayment',
      phoneNumberEncrypted: `sealed-${randomUUID()}`,
      phoneNumberHash: phoneHash(),
      remarks: 'Compensation',
      reason: null,
      originatorConversationId: `LP${randomBytes(9).toString('hex')}`,
      requestedBy: 'admin-integration',
      requestId: null,
    }),
  );
  if (status !== PayoutStatus.Pending) await db.query(sql`UPDATE payouts SET status = ${status}::varchar WHERE id = ${payout.id}`);
  return payout;
}

/** The row as stored (snake_case), for assertions on what a user would see in the table. */
export async function rowOf(db: Database, table: 'payments' | 'payouts', id: string): Promise<Record<string, any>> {
  const row = await db.one(sql`SELECT * FROM ${raw(table)} WHERE id = ${id}`);
  if (!row) throw new Error(`${table} ${id} does not exist`);
  return row;
}
