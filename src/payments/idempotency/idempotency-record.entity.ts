import { Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

/** Stripe-style Idempotency-Key, scoped per client: the first request's answer is replayed for the same key. */
@Entity({ name: 'idempotency_records' })
export class IdempotencyRecord {
  @PrimaryColumn({ name: 'client_id', type: 'varchar', length: 64 }) clientId: string;
  @PrimaryColumn({ type: 'varchar', length: 255 }) key: string;
  /** SHA-256 of the route and the canonical body: the same key with another body is refused. */
  @Column({ name: 'request_hash', type: 'char', length: 64 }) requestHash: string;
  /** `in_flight` until the first request finished, then `completed`. */
  @Column({ type: 'varchar', length: 16 }) state: 'in_flight' | 'completed';
  @Column({ name: 'response_status', type: 'integer', nullable: true }) responseStatus: number | null;
  @Column({ name: 'response_body', type: 'jsonb', nullable: true }) responseBody: unknown;
  /** An in-flight record older than this is taken over (its process died mid-request). */
  @Column({ name: 'locked_until', type: 'timestamptz' }) lockedUntil: Date;
  @Column({ name: 'expires_at', type: 'timestamptz' }) expiresAt: Date;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
