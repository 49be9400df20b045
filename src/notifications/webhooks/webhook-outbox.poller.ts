import { Inject, Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { notificationsConfig } from '../../config/configuration';
import { NotificationsService } from '../notifications.service';

/** How many webhook rows one round takes: all of them are sent at once, and recorded by one statement. */
export const WEBHOOK_CLAIM_BATCH = 32;
/** Rounds in flight at once in one worker (a slow receiver holds one round, not the worker); each holds a connection. */
export const WEBHOOK_ROUNDS_IN_FLIGHT = 4;
/** How long a round may sit between two statements beyond its attempts' deadline (WEBHOOK_TIMEOUT_MS). */
const HOLD_MARGIN_MS = 5_000;
/** A failing round (Postgres away) is logged once per this long, not at every poll. */
const REPEAT_FAILURE_AFTER_MS = 30_000;

/**
 * Delivers LegalPro's webhooks (the outbox rows of the default endpoint, WEBHOOK_URL) from Postgres, in every worker,
 * in rounds of up to 32 rows locked by one transaction (NotificationsService.deliverDueWebhooks), instead of one
 * BullMQ job per event, which cost each callback a queue round trip in the API and three in the worker
 * (docs/performance.md). Nothing is queued, so nothing is lost with Redis: a row is pending in Postgres until its
 * attempt is recorded, and the rows of a worker that dies are free again as soon as Postgres sees its connection go.
 * The next round starts at once while rounds find full batches, else after WEBHOOK_POLL_INTERVAL_MS.
 */
@Injectable()
export class WebhookOutboxPoller implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(WebhookOutboxPoller.name);
  private readonly inFlight = new Set<Promise<void>>();
  private stopping = false;
  private loop?: Promise<void>;
  private wake?: () => void;
  private failureSaidAt = 0;

  constructor(
    private readonly notifications: NotificationsService,
    @Inject(notificationsConfig.KEY) private readonly settings: ConfigType<typeof notificationsConfig>,
  ) {}

  onApplicationBootstrap(): void {
    this.loop = this.run();
  }

  /** Stops starting rounds and waits for those in flight to record their attempts (each ends within WEBHOOK_TIMEOUT_MS). */
  async onModuleDestroy(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
    await Promise.all(this.inFlight);
  }

  private async run(): Promise<void> {
    const holdMs = this.settings.webhookTimeoutMs + HOLD_MARGIN_MS;
    while (!this.stopping) {
      if (this.inFlight.size >= WEBHOOK_ROUNDS_IN_FLIGHT) {
        await Promise.race(this.inFlight);
        continue;
      }
      // The round goes on in the background once its rows are locked; the next one may start meanwhile.
      const taken = await new Promise<number>((claimed) => {
        const round: Promise<void> = this.notifications
          .deliverDueWebhooks(WEBHOOK_CLAIM_BATCH, holdMs, claimed)
          .catch((error: unknown) => this.sayFailure(error))
          .finally(() => {
            this.inFlight.delete(round);
            claimed(0); // the round failed before it locked anything
          });
        this.inFlight.add(round);
      });
      if (taken < WEBHOOK_CLAIM_BATCH) await this.pause(this.settings.webhookPollIntervalMs);
    }
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
