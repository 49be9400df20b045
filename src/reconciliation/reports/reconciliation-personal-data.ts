import { Injectable, Module, OnModuleInit } from '@nestjs/common';
import { maskPartyName, redact, redactText } from '../../common/redaction';
import { Database, Tx } from '../../database/database';
import { DatabaseModule } from '../../database/database.module';
import {
  DataSubjectRecords,
  PersonalDataHolder,
  PersonalDataHolders,
  PersonalDataHoldersModule,
} from '../../privacy/personal-data-holders';
import { ItemPersonalData, ReportsRepository } from './reports.repository';

/**
 * The payer names a reconciliation report keeps. Its items hold the other party as M-Pesa shows it (`2547****123 -
 * JANE DOE`), the narration that repeats it, and an unexplained line's row: whole while the difference may still be
 * worked on, reduced to initials once the report is past the retention age, or at once for a client who asked to be
 * anonymised. Amounts, receipts, kinds and resolutions stay.
 */
@Injectable()
export class ReconciliationPersonalData implements PersonalDataHolder, OnModuleInit {
  readonly name = 'reconciliationItems';

  constructor(
    private readonly db: Database,
    private readonly reports: ReportsRepository,
    private readonly holders: PersonalDataHolders,
  ) {}

  onModuleInit(): void {
    this.holders.register(this);
  }

  /** One report per transaction: a month's statement can hold thousands of items. */
  async applyRetention(cutoff: Date): Promise<number> {
    let changed = 0;
    for (let reportId: string | null = ''; reportId !== null;) {
      reportId = await this.db.transaction(async (tx) => {
        const id = await this.reports.lockReportDueForRetention(tx, cutoff);
        if (id === null) return null;
        changed += await this.rewrite(tx, await this.reports.personalDataOfItems(tx, { reportId: id }));
        await this.reports.markReportMasked(tx, id);
        return id;
      });
    }
    return changed;
  }

  async anonymise(tx: Tx, records: DataSubjectRecords): Promise<number> {
    if (!records.paymentIds.length && !records.receipts.length) return 0;
    return this.rewrite(tx, await this.reports.personalDataOfItems(tx, records));
  }

  async export(records: DataSubjectRecords): Promise<Record<string, unknown>[]> {
    return (await this.reports.itemsAbout(records)).map((item) => ({ ...item }));
  }

  private rewrite(tx: Tx, items: ItemPersonalData[]): Promise<number> {
    const masked = items.map(maskItem).filter((item, i) => JSON.stringify(item) !== JSON.stringify(items[i]));
    return this.reports.rewriteItemsPersonalData(tx, masked);
  }
}

/** Idempotent: a masked item masks to itself. */
function maskItem(item: ItemPersonalData): ItemPersonalData {
  return {
    id: item.id,
    party: item.party === null ? null : maskPartyName(item.party),
    details: item.details === null ? null : redactText(item.details),
    raw: redact(item.raw),
  };
}

/**
 * The holder with what it needs and nothing else, for `npm run retention` (which starts no queue and no controller);
 * the app's ReconciliationModule imports it too.
 */
@Module({
  imports: [DatabaseModule, PersonalDataHoldersModule],
  providers: [ReportsRepository, ReconciliationPersonalData],
})
export class ReconciliationPersonalDataModule {}
