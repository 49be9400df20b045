import type { PullQueryAnswer, PullTransaction } from '../../mpesa/daraja.client';

/** One page Pull answered. */
export interface PullPageRecord {
  offset: number;
  responseCode: string;
  responseMessage: string;
  /** Records on the page, and those not seen on an earlier page. */
  transactions: number;
  newTransactions: number;
  totalPages: number | null;
  totalRecords: number | null;
}

export type PullOutcome = 'succeeded' | 'ambiguous' | 'failed';

export interface PullPaging {
  /** Every transaction of the window, once each (by transaction id), in the order first seen. */
  transactions: PullTransaction[];
  pages: PullPageRecord[];
  /** Records Pull listed that could not be read (no id, amount or date). */
  unreadable: number;
  /** How Pull's answers read `OffSetValue`: page index or row offset (null: one page was enough to tell nothing). */
  offsetReading: 'page' | 'row' | null;
  /**
   * `succeeded`: every page read. `ambiguous`: the first page said 1001 "no records", which Daraja answers both for a
   * quiet window and for a shortcode not set up for Pull. `failed`: another ResponseCode (even inside HTTP 200), an
   * error, or the page cap.
   */
  outcome: PullOutcome;
  error: string | null;
}

/** `1000`: success. `1001`: "No records found or Organization Name not available" (docs/daraja.md §17.5). */
export const PULL_SUCCESS = '1000';
export const PULL_NO_RECORDS = '1001';

/**
 * Reads a Pull window page by page, whichever way Daraja counts `OffSetValue` (docs/daraja.md §17.6: the request table
 * says rows, the FAQ and production apps say pages). Offset 0 first; then offset 1 as a probe: a page of only new
 * transactions means page indexes (2, 3, … follow), a page that repeats most of the first means row offsets (the next
 * offset is the number of rows seen). Transactions are deduplicated by id, so a wrong guess costs requests, never a
 * duplicate; paging ends when a page adds nothing, when TotalPages/TotalRecords say so, on 1001 after the first page,
 * or at `maxPages`.
 */
export async function pullAllPages(fetchPage: (offset: number) => Promise<PullQueryAnswer>, maxPages: number): Promise<PullPaging> {
  const seen = new Map<string, PullTransaction>();
  const pages: PullPageRecord[] = [];
  let unreadable = 0;
  let offsetReading: PullPaging['offsetReading'] = null;
  let offset = 0;
  const result = (outcome: PullOutcome, error: string | null = null): PullPaging => ({
    transactions: [...seen.values()],
    pages,
    unreadable,
    offsetReading,
    outcome,
    error,
  });

  for (let page = 0; page < maxPages; page++) {
    let answer: PullQueryAnswer;
    try {
      answer = await fetchPage(offset);
    } catch (error) {
      return result('failed', `Pull query at offset ${offset} failed: ${error instanceof Error ? error.message : String(error)}`);
    }
    let fresh = 0;
    for (const transaction of answer.transactions) {
      if (seen.has(transaction.transactionId)) continue;
      seen.set(transaction.transactionId, transaction);
      fresh++;
    }
    unreadable += answer.unreadable;
    pages.push({
      offset,
      responseCode: answer.responseCode,
      responseMessage: answer.responseMessage,
      transactions: answer.transactions.length,
      newTransactions: fresh,
      totalPages: answer.totalPages,
      totalRecords: answer.totalRecords,
    });

    if (answer.responseCode === PULL_NO_RECORDS) {
      // On the first page it is all Daraja said about the window; past it, the pages simply ran out.
      return page === 0 ? result('ambiguous') : result('succeeded');
    }
    if (answer.responseCode !== PULL_SUCCESS) {
      const said = answer.responseMessage ? ` (${answer.responseMessage})` : '';
      return result('failed', `Pull answered ResponseCode ${answer.responseCode || 'none'}${said} at offset ${offset}`);
    }
    if (fresh === 0) return result('succeeded');
    if (answer.totalRecords !== null && seen.size >= answer.totalRecords) return result('succeeded');

    if (page === 0) {
      if (answer.totalPages !== null && answer.totalPages <= 1) return result('succeeded');
      offset = 1;
      continue;
    }
    offsetReading ??= fresh === answer.transactions.length ? 'page' : 'row';
    if (offsetReading === 'page') {
      offset++;
      if (answer.totalPages !== null && offset >= answer.totalPages) return result('succeeded');
    } else {
      offset = seen.size;
    }
  }
  return result('failed', `Stopped after ${maxPages} pages (PULL_MAX_PAGES) with transactions still coming: the window may hold more`);
}
