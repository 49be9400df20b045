import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { notificationsConfig } from '../../config/configuration';
import { ClaimedWebhook } from '../notifications.repository';
import { NotificationsService } from '../notifications.service';
import { WebhookRoute } from './webhook-endpoints.repository';

/** How many webhook rows one claim takes: all of them are sent at once, and recorded by one statement. */
export const WEBHOOK_CLAIM_BATCH = 32;
/** Claims whose attempts may be in flight at once in one worker (a slow receiver holds one batch, not the worker). */
export const WEBHOOK_BATCHES_IN_FLIGHT = 4;
/**
 * How long a claim holds its rows; renewed every WEBHOOK_CLAIM_RENEW_MS while their attempts are in flight, so rows
 * of a worker that died are taken by another within this long (the bound for a dead worker's jobs is 10 s).
 */
export const WEBHOOK_CLAIM_LEASE_MS = 5_000;
const WEBHOOK_CLAIM_RENEW_MS = 2_000;
/** A failing claim (Postgres away) is logged once per this long, not at every poll. */
const REPEAT_FAILURE_AFTER_MS = 30_000;

/**
 * Delivers LegalPro's webhooks (the outbox rows of the default endpoint, WEBHOOK_URL) from Postgres, in every worker:
 * it claims the due rows in batches (NotificationsRepository.claimDueWebhooks) instead of one BullMQ job per event,
 * which cost each callback a queue round trip in the API and three in the worker (docs/performance.md). Nothing is
 * queued, so nothing is lost with Redis: a row is pending in Postgres until an attempt is recorded, and a worker that
 * dies holding rows leaves them to the others once its lease (WEBHOOK_CLAIM_LEASE_MS, renewed while it works) has
 * passed. The claim runs again at once while it finds full batches, else every WEBHOOK_POLL_INTERVAL_MS.
 */
@Injectable()
export class WebhookOutboxPoller implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(WebhookOutboxPoller.name);
  private readonly inFlight = new Set<Promise<void>>();
  /** The rows of the batches in flight, whose claims the heartbeat renews. */
  private readonly held = new Set<string>();
  private heartbeat?: NodeJS.Timeout;
  private stopping = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private failureSaidAt = 0;

  constructor(
    private readonly notifications: NotificationsService,
    @Inject(notificationsConfig.KEY) private readonly settings: ConfigType<typeof notificationsConfig>,
  ) {}

  onApplicationBootstrap(): void {
    this.heartbeat = setInterval(() => void this.renewClaims(), WEBHOOK_CLAIM_RENEW_MS).unref();
    this.loop = this.run();
  }

  /** Stops claiming and waits for the attempts in flight to be recorded (each ends within WEBHOOK_TIMEOUT_MS). */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    await Promise.all(this.inFlight);
    clearInterval(this.heartbeat);
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      if (this.inFlight.size >= WEBHOOK_BATCHES_IN_FLIGHT) {
        await Promise.race(this.inFlight);
        continue;
      }
      let claimed: ClaimedWebhook<WebhookRoute>[] = [];
      try {
        claimed = await this.notifications.claimDueWebhooks(WEBHOOK_CLAIM_BATCH, WEBHOOK_CLAIM_LEASE_MS);
      } catch (error) {
        this.sayFailure(error);
      }
      // The batch's attempts go on while the next claim runs.
      if (claimed.length)
        this.track(
          claimed.map((c) => c.notification.id),
          this.notifications.deliverClaimed(claimed),
        );
      if (claimed.length < WEBHOOK_CLAIM_BATCH) await this.pause(this.settings.webhookPollIntervalMs);
    }
  }

  private track(ids: string[], delivery: Promise<void>): void {
    for (const id of ids) this.held.add(id);
    const batch = delivery
      .catch((error: unknown) => this.sayFailure(error))
      .finally(() => {
        for (const id of ids) this.held.delete(id);
        this.inFlight.delete(batch);
      });
    this.inFlight.add(batch);
  }

  /** A failed renewal is only logged: at worst the rows are delivered again by another worker (receivers dedupe by id). */
  private async renewClaims(): Promise<void> {
    if (!this.held.size) return;
    await this.notifications.extendWebhookClaims([...this.held], WEBHOOK_CLAIM_LEASE_MS).catch((error: unknown) => this.sayFailure(error));
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private sayFailure(error: unknown): void {
    const now = Date.now();
    if (now - this.failureSaidAt < REPEAT_FAILURE_AFTER_MS) return;
    this.failureSaidAt = now;
    this.logger.warn(`Could not deliver webhooks from the outbox: ${error instanceof Error ? error.message : String(error)}; trying again`);
  }
}
