import { Injectable } from '@nestjs/common';
import { InjectEntityManager } from '@nestjs/typeorm';
import { EntityManager } from 'typeorm';
import { redact } from '../common/redaction';
import { currentRequestId } from '../common/request-context';
import { AuditEvent } from './audit-event.entity';

export interface Actor {
  type: 'user' | 'system' | 'daraja';
  id?: string | null;
  ipAddress?: string | null;
  requestId?: string | null;
}

export const SYSTEM_ACTOR: Actor = { type: 'system', id: 'worker' };

export interface AuditEntry {
  action: string;
  entityType: string;
  entityId?: string | null;
  before?: Record<string, unknown> | null;
  after?: Record<string, unknown> | null;
  metadata?: Record<string, unknown> | null;
}

/** Append-only audit trail. Pass the caller's EntityManager so the event commits (or not) with the change. */
@Injectable()
export class AuditService {
  constructor(@InjectEntityManager() private readonly defaultManager: EntityManager) {}

  async record(actor: Actor, entry: AuditEntry, manager: EntityManager = this.defaultManager): Promise<void> {
    await manager.insert(AuditEvent, {
      actorType: actor.type,
      actorId: actor.id ?? null,
      action: entry.action,
      entityType: entry.entityType,
      entityId: entry.entityId ?? null,
      before: entry.before ? redact(entry.before) : null,
      after: entry.after ? redact(entry.after) : null,
      metadata: entry.metadata ? redact(entry.metadata) : null,
      ipAddress: actor.ipAddress ?? null,
      // A worker's SYSTEM_ACTOR names no request: the one its job carries is used (src/common/request-context.ts).
      requestId: actor.requestId ?? currentRequestId() ?? null,
    });
  }
}
