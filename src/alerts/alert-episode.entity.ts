import { Column, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

/**
 * One stretch of time during which a rule was breached. A partial unique index (one open episode per rule) makes
 * "raise once per episode" hold across replicas: only the INSERT that wins notifies.
 */
@Entity({ name: 'alert_episodes' })
@Index('ix_alert_episodes_opened', ['openedAt'])
export class AlertEpisode {
  @PrimaryGeneratedColumn('uuid') id: string;
  @Column({ type: 'varchar', length: 48 }) rule: string;
  @Column({ type: 'text' }) summary: string;
  @Column({ type: 'double precision' }) threshold: number;
  /** The value when the episode opened, the worst seen, and the latest. */
  @Column({ name: 'opening_value', type: 'double precision' }) openingValue: number;
  @Column({ name: 'peak_value', type: 'double precision' }) peakValue: number;
  @Column({ name: 'last_value', type: 'double precision' }) lastValue: number;
  @Column({ name: 'opened_at', type: 'timestamptz', default: () => 'now()' }) openedAt: Date;
  @Column({ name: 'last_evaluated_at', type: 'timestamptz', default: () => 'now()' }) lastEvaluatedAt: Date;
  @Column({ name: 'resolved_at', type: 'timestamptz', nullable: true }) resolvedAt: Date | null;
}
