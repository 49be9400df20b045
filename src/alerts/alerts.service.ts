import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { AuditService, SYSTEM_ACTOR } from '../audit/audit.service';
import { alertsConfig } from '../config/configuration';
import { Database } from '../database/database';
import { WrittenNotification } from '../notifications/notifications.repository';
import { NotificationsService } from '../notifications/notifications.service';
import { AlertFinding, evaluateAlertRules } from './alert-rules';
import { AlertsRepository, EpisodeRow } from './alerts.repository';

export interface AlertEvaluation {
  evaluatedAt: string;
  findings: AlertFinding[];
  /** Episodes this evaluation opened or closed; each was announced once. */
  raised: EpisodeRow[];
  resolved: EpisodeRow[];
}

/**
 * Alerts for teams without Prometheus: the spec's thresholds measured from Postgres. An alert is announced when
 * its episode opens and when it closes, never on every evaluation in between: a signed webhook to LegalPro and an
 * email to ALERT_EMAIL_TO.
 */
@Injectable()
export class AlertsService {
  private readonly logger = new Logger(AlertsService.name);

  constructor(
    @Inject(alertsConfig.KEY) private readonly settings: ConfigType<typeof alertsConfig>,
    private readonly db: Database,
    private readonly repository: AlertsRepository,
    private readonly notifications: NotificationsService,
    private readonly audit: AuditService,
  ) {}

  async evaluate(): Promise<AlertEvaluation> {
    const findings = evaluateAlertRules(await this.repository.measure(this.settings), this.settings);
    const raised: EpisodeRow[] = [];
    const resolved: EpisodeRow[] = [];
    for (const finding of findings) {
      if (finding.breached) {
        const opened = await this.announce(finding, 'raised');
        if (opened) raised.push(opened);
        else await this.repository.touchOpenEpisode(finding);
      } else {
        const closed = await this.announce(finding, 'resolved');
        if (closed) resolved.push(closed);
      }
    }
    return { evaluatedAt: new Date().toISOString(), findings, raised, resolved };
  }

  async list(openOnly: boolean, limit: number): Promise<EpisodeRow[]> {
    return this.repository.listEpisodes({ openOnly, limit });
  }

  /** Opens or closes the episode, and writes its audit event and outbox notification in the same transaction. */
  private async announce(finding: AlertFinding, change: 'raised' | 'resolved'): Promise<EpisodeRow | undefined> {
    const written: WrittenNotification[] = [];
    const episode = await this.db.transaction(async (tx) => {
      const row = change === 'raised' ? await this.repository.openEpisode(tx, finding) : await this.repository.resolveEpisode(tx, finding);
      if (!row) return undefined;
      const payload = {
        episodeId: row.id,
        rule: row.rule,
        status: change === 'raised' ? 'firing' : 'resolved',
        summary: change === 'raised' ? finding.summary : `Resolved: ${finding.summary}`,
        value: finding.value,
        threshold: finding.threshold,
        windowSeconds: this.settings.windowSeconds,
        openedAt: row.openedAt,
        resolvedAt: row.resolvedAt,
      };
      await this.audit.record(SYSTEM_ACTOR, { action: `alert.${change}`, entityType: 'alert', entityId: row.id, metadata: payload }, tx);
      const event = `alert.${change}`;
      const outbox = [
        this.notifications.webhook(event, row.id, payload),
        ...this.notifications.forOperators(event, row.id, payload, this.settings.emailTo.length > 0),
      ];
      written.push(...(await this.notifications.write(tx, outbox)));
      return row;
    });
    if (!episode) return undefined;
    if (change === 'raised') this.logger.warn(`Alert ${finding.rule}: ${finding.summary}`);
    else this.logger.log(`Alert ${finding.rule} resolved: ${finding.summary}`);
    await this.notifications.dispatch(written);
    return episode;
  }
}
