import { Injectable, Module } from '@nestjs/common';
import { Tx } from '../database/database';

/** A data subject's money records, as an anonymisation found them: what other modules' records point at. */
export interface DataSubjectRecords {
  paymentIds: string[];
  receipts: string[];
}

/** The count each holder reports, in the retention report and in an anonymisation's counts. */
export type HolderCount = 'reconciliationItems';

/**
 * Personal data kept by a module that privacy/ may not import (reconciliation/ sits above the money modules). That
 * module registers a holder, and the retention sweep and the anonymisation call it; its tables are still written
 * only by its own repository.
 */
export interface PersonalDataHolder {
  readonly name: HolderCount;
  /** Masks what was recorded before `cutoff`, in short transactions; answers how many rows changed. Idempotent. */
  applyRetention(cutoff: Date): Promise<number>;
  /** Scrubs what it keeps about these records, in the anonymisation's transaction; answers how many rows changed. */
  anonymise(tx: Tx, records: DataSubjectRecords): Promise<number>;
  /** What it keeps about these records, for an access request's export. */
  export(records: DataSubjectRecords): Promise<Record<string, unknown>[]>;
}

@Injectable()
export class PersonalDataHolders {
  private readonly holders = new Map<HolderCount, PersonalDataHolder>();

  register(holder: PersonalDataHolder): void {
    this.holders.set(holder.name, holder);
  }

  all(): PersonalDataHolder[] {
    return [...this.holders.values()];
  }
}

/** One registry per process: imported by the privacy module and by every module that registers a holder. */
@Module({ providers: [PersonalDataHolders], exports: [PersonalDataHolders] })
export class PersonalDataHoldersModule {}
