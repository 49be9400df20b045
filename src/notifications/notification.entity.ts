import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn, UpdateDateColumn } from 'typeorm';

export enum NotificationChannel {
  /** An event for LegalPro: the row is the event (its id is the event's) and the default endpoint's delivery (WEBHOOK_URL). */
  Webhook = 'webhook',
  /** To the client, at the email given with the payment. */
  Email = 'email',
  /** To the client, at the phone that paid. */
  Sms = 'sms',
}

export enum NotificationStatus {
  Pending = 'pending',
  Delivered = 'delivered',
  Failed = 'failed',
  Skipped = 'skipped',
}

/** An outbox row, written in the same transaction as the state change it announces. */
@Entity({ name: 'notifications' })
@Index('ix_notifications_status_created', ['status', 'createdAt'])
@Index('ix_notifications_subject', ['subjectId'])
export class Notification {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'varchar', length: 16 }) channel: string;
  /** e.g. `payment.completed`. */
  @Column({ type: 'varchar', length: 64 }) event: string;
  @Column({ name: 'subject_id', type: 'varchar', length: 64 }) subjectId: string;
  @Column({ type: 'jsonb' }) payload: object;
  @Column({ type: 'varchar', length: 16, default: NotificationStatus.Pending }) status: NotificationStatus;
  @Column({ type: 'integer', default: 0 }) attempts: number;
  @Column({ name: 'last_error', type: 'text', nullable: true }) lastError: string | null;
  @Column({ name: 'delivered_at', type: 'timestamptz', nullable: true }) deliveredAt: Date | null;
  /** Webhook: when the default endpoint (WEBHOOK_URL) is tried next; null before the first attempt. */
  @Column({ name: 'next_attempt_at', type: 'timestamptz', nullable: true }) nextAttemptAt: Date | null;
  /** Webhook: when a delivery was written for each endpoint the event matched (webhook_deliveries). */
  @Column({ name: 'endpoints_fanned_out_at', type: 'timestamptz', nullable: true }) endpointsFannedOutAt: Date | null;
  /** Attempts made before the last redelivery: the retry schedule counts from here. */
  @Column({ name: 'attempts_before_redelivery', type: 'integer', default: 0 }) attemptsBeforeRedelivery: number;
  /** The request the event was written under: its delivery is logged under the same id. */
  @Column({ name: 'request_id', type: 'varchar', length: 64, nullable: true }) requestId: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' }) updatedAt: Date;
}

/** Every delivery attempt, successful or not. */
@Entity({ name: 'notification_attempts' })
@Index('ix_notification_attempts_notification', ['notificationId'])
export class NotificationAttempt {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' }) id: string;
  @Column({ name: 'notification_id', type: 'uuid' }) notificationId: string;
  @Column({ type: 'integer' }) attempt: number;
  @Column({ name: 'status_code', type: 'integer', nullable: true }) statusCode: number | null;
  @Column({ type: 'text', nullable: true }) error: string | null;
  @Column({ type: 'integer' }) duration: number;
  /** Email and SMS: the masked address or number this attempt went to. */
  @Column({ type: 'varchar', length: 64, nullable: true }) recipient: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
