import { Inject, Injectable, Logger } from '@nestjs/common';
import { ConfigType } from '@nestjs/config';
import { Actor, AuditService } from '../audit/audit.service';
import { retentionConfig } from '../config/configuration';
import { Database } from '../database/database';
import { MpesaReceiptsRepository } from '../payments/mpesa-receipts.repository';
import { PaymentsRepository } from '../payments/payments.repository';
import { PayoutsRepository } from '../payouts/payouts.repository';
import { HolderCount, PersonalDataHolders } from './personal-data-holders';
import { PersonalDataMasker } from './personal-data-masker';
import { scrubbedOnly } from './personal-data';
import { PrivacyRepository } from './privacy.repository';

export const RETENTION_JOB_ACTOR: Actor = { type: 'system', id: 'retention-job' };
export const RETENTION_CLI_ACTOR: Actor = { type: 'system', id: 'retention-cli' };

export type RetentionReport = {
  /** Rows created before this were due. */
  cutoff: string;
  afterDays: number;
  payments: number;
  payouts: number;
  /** Receipt ledger rows of those payments whose stored records still named the payer (written before names were reduced on the way in). */
  mpesaReceipts: number;
  /** Phones or emails that could not be decrypted (unknown key id, corrupt value): masked entirely. */
  unreadable: number;
} & Record<HolderCount, number>;

/**
 * The retention policy: settled payments and payouts older than RETENTION_MASK_PHONE_AFTER_DAYS lose their phone
 * number, name and email (masked in place) and the personal data in their stored Daraja payloads. Amounts,
 * receipts, result codes, statuses and timestamps stay: Kenya's tax rules want the financial record for years,
 * nothing needs the phone that long. The look-up hash is kept, so a later access or erasure request by phone
 * still finds these rows (an anonymisation then drops it). Other modules' records (reconciliation reports' items)
 * are masked by the holders they register (PersonalDataHolders), past the same age.
 */
@Injectable()
export class RetentionService {
  private readonly logger = new Logger(RetentionService.name);

  constructor(
    @Inject(retentionConfig.KEY) private readonly settings: ConfigType<typeof retentionConfig>,
    private readonly db: Database,
    private readonly repository: PrivacyRepository,
    private readonly payments: PaymentsRepository,
    private readonly receipts: MpesaReceiptsRepository,
    private readonly payouts: PayoutsRepository,
    private readonly masker: PersonalDataMasker,
    private readonly audit: AuditService,
    private readonly holders: PersonalDataHolders,
  ) {}

  /** One sweep, batch after batch until nothing is due; writes one audit event with the counts. Idempotent. */
  async run(actor: Actor, now = new Date()): Promise<RetentionReport> {
    const cutoff = new Date(now.getTime() - this.settings.maskPhoneAfterDays * 86_400_000);
    const limit = this.settings.batchSize;
    const report: RetentionReport = {
      cutoff: cutoff.toISOString(),
      afterDays: this.settings.maskPhoneAfterDays,
      payments: 0,
      payouts: 0,
      mpesaReceipts: 0,
      unreadable: 0,
      reconciliationItems: 0,
    };

    // Each batch is its own short transaction: rows are locked (SKIP LOCKED, so a concurrent run takes others) only
    // while their masked values are written. A batch shorter than the limit means nothing more is due.
    for (let selected = limit; selected === limit;) {
      selected = await this.db.transaction(async (tx) => {
        const rows = await this.repository.lockPaymentsDueForRetention(tx, cutoff, limit);
        const masked = rows.map((row) => this.masker.maskPayment(row, 'retention'));
        const maskedIds = await this.payments.maskPersonalData(
          tx,
          masked.map((m) => m.row),
          'retention',
        );
        report.payments += maskedIds.length;
        const ledger = await this.repository.receiptsOf(maskedIds, tx);
        report.mpesaReceipts += await this.receipts.rewritePayloads(
          tx,
          scrubbedOnly(ledger.map((r) => ({ id: r.receipt, before: r.payloads }))),
        );
        report.unreadable += masked.filter((m) => m.unreadable).length;
        return rows.length;
      });
    }
    for (let selected = limit; selected === limit;) {
      selected = await this.db.transaction(async (tx) => {
        const rows = await this.repository.lockPayoutsDueForRetention(tx, cutoff, limit);
        const masked = rows.map((row) => this.masker.maskPayout(row, 'retention'));
        report.payouts += (
          await this.payouts.maskPersonalData(
            tx,
            masked.map((m) => m.row),
            'retention',
          )
        ).length;
        report.unreadable += masked.filter((m) => m.unreadable).length;
        return rows.length;
      });
    }

    for (const holder of this.holders.all()) report[holder.name] = await holder.applyRetention(cutoff);

    await this.audit.record(actor, { action: 'privacy.retention_applied', entityType: 'retention', metadata: { ...report } });
    if (report.unreadable)
      this.logger.warn(`Retention: ${report.unreadable} phone number(s) or email(s) could not be decrypted and were masked entirely`);
    return report;
  }
}
