/** Kenya (EAT) is UTC+3 all year, with no daylight saving: a fixed offset is exact. */
const EAT_OFFSET_MS = 3 * 60 * 60 * 1000;
const DAY_MS = 24 * 60 * 60 * 1000;

const pad = (n: number, width = 2) => String(n).padStart(width, '0');

/** The Kenya calendar day of an instant, as `YYYY-MM-DD`. */
export function kenyaDayOf(at: Date): string {
  const eat = new Date(at.getTime() + EAT_OFFSET_MS);
  return `${pad(eat.getUTCFullYear(), 4)}-${pad(eat.getUTCMonth() + 1)}-${pad(eat.getUTCDate())}`;
}

/** The Kenya day before the one `now` falls in: what the daily reconciliation covers. */
export function previousKenyaDay(now: Date): string {
  return kenyaDayOf(new Date(now.getTime() - DAY_MS));
}

/** `[start, end)` of a Kenya day `YYYY-MM-DD`; undefined for a day that does not exist. */
export function kenyaDayBounds(day: string): { start: Date; end: Date } | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(day);
  if (!m) return undefined;
  const start = kenyaTime(Number(m[1]), Number(m[2]), Number(m[3]), 0, 0, 0);
  return start && { start, end: new Date(start.getTime() + DAY_MS) };
}

/** A Kenya wall-clock time as an instant; undefined when the fields are no real time (31 February, 25:00). */
export function kenyaTime(year: number, month: number, day: number, hour: number, minute: number, second: number): Date | undefined {
  const utc = Date.UTC(year, month - 1, day, hour, minute, second) - EAT_OFFSET_MS;
  const check = new Date(utc + EAT_OFFSET_MS);
  const same =
    check.getUTCFullYear() === year &&
    check.getUTCMonth() === month - 1 &&
    check.getUTCDate() === day &&
    check.getUTCHours() === hour &&
    check.getUTCMinutes() === minute &&
    check.getUTCSeconds() === second;
  return same ? new Date(utc) : undefined;
}

// Excel's day 0 is 1899-12-30 (its 1900 leap-year bug included); a statement saved from the .xls may keep serial dates.
const EXCEL_EPOCH_UTC = Date.UTC(1899, 11, 30);

/**
 * A time as the org-portal statement writes it, in Kenya time (docs/daraja.md §18): day first, `dd-mm-yyyy HH:MM:SS`
 * in the legacy export and `dd/mm/yyyy HH:MM:SS` in the newer template; also without seconds, with AM/PM, as an
 * ISO `yyyy-mm-dd HH:MM:SS`, or as the Excel serial number a spreadsheet leaves behind. Undefined when unreadable.
 */
export function parseStatementTime(text: string): Date | undefined {
  const value = text.trim();
  if (!value) return undefined;
  if (/^\d{5}(\.\d+)?$/.test(value)) {
    // Serial days in Kenya wall-clock time, rounded to the second.
    const wall = EXCEL_EPOCH_UTC + Math.round(Number(value) * 86_400) * 1000;
    return new Date(wall - EAT_OFFSET_MS);
  }
  const time = '(?:[ T]+(\\d{1,2}):(\\d{2})(?::(\\d{2}))?\\s*([AaPp][Mm])?)?';
  const dayFirst = new RegExp(`^(\\d{1,2})[-/.](\\d{1,2})[-/.](\\d{4})${time}$`).exec(value);
  const isoFirst = new RegExp(`^(\\d{4})-(\\d{2})-(\\d{2})${time}$`).exec(value);
  let year: number, month: number, day: number, rest: (string | undefined)[];
  if (dayFirst) {
    [day, month, year] = [Number(dayFirst[1]), Number(dayFirst[2]), Number(dayFirst[3])];
    rest = dayFirst.slice(4);
  } else if (isoFirst) {
    [year, month, day] = [Number(isoFirst[1]), Number(isoFirst[2]), Number(isoFirst[3])];
    rest = isoFirst.slice(4);
  } else return undefined;
  let hour = Number(rest[0] ?? 0);
  const minute = Number(rest[1] ?? 0);
  const second = Number(rest[2] ?? 0);
  const meridiem = rest[3]?.toLowerCase();
  if (meridiem) {
    if (hour < 1 || hour > 12) return undefined;
    hour = (hour % 12) + (meridiem === 'pm' ? 12 : 0);
  }
  return kenyaTime(year, month, day, hour, minute, second);
}
