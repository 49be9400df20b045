/**
 * RFC 4180 CSV: quoted fields may hold the delimiter, doubled quotes and line breaks (narrations copied from PDF
 * statements do). Lines end with CRLF, LF or CR. Returns every record with the 1-based line it starts on.
 */
export function parseCsv(text: string, delimiter: string): { line: number; cells: string[] }[] {
  const records: { line: number; cells: string[] }[] = [];
  let cells: string[] = [];
  let cell = '';
  let quoted = false;
  let line = 1;
  let recordLine = 1;
  let i = 0;
  const endCell = () => {
    cells.push(cell);
    cell = '';
  };
  const endRecord = () => {
    endCell();
    records.push({ line: recordLine, cells });
    cells = [];
  };
  while (i < text.length) {
    const c = text[i];
    if (quoted) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          cell += '"';
          i += 2;
          continue;
        }
        quoted = false;
      } else {
        if (c === '\n' || (c === '\r' && text[i + 1] !== '\n')) line++;
        cell += c;
      }
      i++;
      continue;
    }
    if (c === '"' && cell.trim() === '') {
      // A quote opens a field only at its start (spaces before it are dropped, as spreadsheets do).
      cell = '';
      quoted = true;
    } else if (c === delimiter) endCell();
    else if (c === '\r' || c === '\n') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else cell += c;
    i++;
  }
  if (cell !== '' || cells.length > 0) endRecord();
  return records;
}

/** The delimiter of a file whose header row holds `marker`: comma, semicolon (some locales' Excel) or tab. */
export function detectDelimiter(text: string, marker: RegExp): string {
  const lines = text.split(/\r\n|\n|\r/);
  const header = lines.find((l) => marker.test(l)) ?? lines[0] ?? '';
  const counts = [',', ';', '\t'].map((d) => ({ d, n: header.split(d).length - 1 }));
  counts.sort((a, b) => b.n - a.n);
  return counts[0].n > 0 ? counts[0].d : ',';
}
