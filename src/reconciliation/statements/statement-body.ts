import { StatementFormatError } from './statement-parser';

/** The largest statement accepted in one request: a month of a busy paybill is a few MB; split anything bigger by period. */
export const STATEMENT_MAX_BYTES = 16 * 1024 * 1024;

/** Content types a statement may be sent as (Windows browsers label a .csv file application/vnd.ms-excel). */
export const STATEMENT_CONTENT_TYPES = ['text/csv', 'application/csv', 'application/vnd.ms-excel'];

const SIGNATURES: { bytes: number[]; what: string }[] = [
  { bytes: [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1], what: 'an Excel .xls workbook' },
  { bytes: [0x50, 0x4b, 0x03, 0x04], what: 'an .xlsx workbook (or another zip file)' },
  { bytes: [0x25, 0x50, 0x44, 0x46], what: 'a PDF' },
];

/**
 * The statement's text. The org portal exports .xls, .xlsx and .csv; only CSV is read here (the file type is told by
 * its first bytes, not by its name or content type, as the portal's files are often misnamed). UTF-8, with or without
 * a byte-order mark; a file that is not valid UTF-8 is read as Windows-1252, as Excel on Windows saves CSV.
 */
export function decodeStatementBody(body: Buffer): string {
  for (const { bytes, what } of SIGNATURES) {
    if (bytes.every((b, i) => body[i] === b)) {
      throw new StatementFormatError(`This file is ${what}, not CSV: open it in a spreadsheet and save it as CSV, then send that`);
    }
  }
  if (body.subarray(0, 4096).includes(0)) throw new StatementFormatError('This file is binary, not a CSV statement');
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(body);
  } catch {
    return new TextDecoder('windows-1252').decode(body);
  }
}
