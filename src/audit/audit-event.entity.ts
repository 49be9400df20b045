import { Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/** Append-only: a database trigger refuses UPDATE and DELETE on this table. */
@Entity({ name: 'audit_events' })
@Index('ix_audit_entity', ['entityType', 'entityId', 'createdAt'])
@Index('ix_audit_action_created', ['action', 'createdAt'])
export class AuditEvent {
  @PrimaryGeneratedColumn('increment', { type: 'bigint' }) id: string;
  /** `user`, `system` or `daraja`. */
  @Column({ name: 'actor_type', type: 'varchar', length: 16 }) actorType: string;
  @Column({ name: 'actor_id', type: 'varchar', length: 64, nullable: true }) actorId: string | null;
  @Column({ type: 'varchar', length: 64 }) action: string;
  @Column({ name: 'entity_type', type: 'varchar', length: 32 }) entityType: string;
  @Column({ name: 'entity_id', type: 'varchar', length: 64, nullable: true }) entityId: string | null;
  @Column({ type: 'jsonb', nullable: true }) before: object | null;
  @Column({ type: 'jsonb', nullable: true }) after: object | null;
  @Column({ type: 'jsonb', nullable: true }) metadata: object | null;
  @Column({ name: 'ip_address', type: 'varchar', length: 64, nullable: true }) ipAddress: string | null;
  @Column({ name: 'request_id', type: 'varchar', length: 64, nullable: true }) requestId: string | null;
  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' }) createdAt: Date;
}
