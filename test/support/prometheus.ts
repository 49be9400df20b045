// Reads the app's /metrics: a small parser of Prometheus' text exposition format (0.0.4), enough for prom-client's
// output (label values with \\, \" and \n escapes; NaN and ±Inf in any case; optional timestamps).
import { appUrl } from './app';

export interface Sample {
  /** The sample's own name: `x_bucket`, `x_sum` and `x_count` for a histogram `x`. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    samples.push(parseSampleLine(line));
  }
  return samples;
}

function parseSampleLine(line: string): Sample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) throw new Error(`Not a sample line: ${line}`);
  const name = nameMatch[0];
  let i = name.length;
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    for (;;) {
      while (line[i] === ' ' || line[i] === ',') i++;
      if (line[i] === '}') {
        i++;
        break;
      }
      const labelMatch = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(i));
      if (!labelMatch) throw new Error(`Bad label at ${i} in: ${line}`);
      i += labelMatch[0].length;
      let value = '';
      for (; i < line.length && line[i] !== '"'; i++) {
        if (line[i] === '\\') {
          i++;
          value += line[i] === 'n' ? '\n' : line[i];
        } else value += line[i];
      }
      if (line[i] !== '"') throw new Error(`Unterminated label value in: ${line}`);
      i++;
      labels[labelMatch[1]] = value;
    }
  }
  const [valueText] = line.slice(i).trim().split(/\s+/);
  // Like Prometheus (Go's ParseFloat), case-insensitive NaN and Inf: prom-client writes `Nan`.
  const special: Record<string, number> = { nan: NaN, '+inf': Infinity, inf: Infinity, '-inf': -Infinity };
  const value = valueText?.toLowerCase() in special ? special[valueText.toLowerCase()] : Number(valueText);
  if (!valueText || (Number.isNaN(value) && valueText.toLowerCase() !== 'nan')) throw new Error(`Bad value in: ${line}`);
  return { name, labels, value };
}

/** One scrape, with questions about it. */
export class Scrape {
  constructor(readonly samples: Sample[]) {}

  /** Samples named `name` whose labels include all of `labels`. */
  series(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }

  /** The sum of those samples' values: 0 when there is none (a counter not yet incremented has no series). */
  value(name: string, labels: Record<string, string> = {}): number {
    return this.series(name, labels).reduce((sum, s) => sum + s.value, 0);
  }
}

export interface ScrapeResponse {
  status: number;
  contentType: string;
  text: string;
}

/** GET /metrics of the shared app (or of `baseUrl`), as it comes. */
export async function getMetrics(options: { baseUrl?: string; authorization?: string } = {}): Promise<ScrapeResponse> {
  const url = options.baseUrl ? `${options.baseUrl}/metrics` : appUrl('/metrics');
  const res = await fetch(url, {
    headers: options.authorization ? { authorization: options.authorization } : {},
    signal: AbortSignal.timeout(15_000),
  });
  return { status: res.status, contentType: res.headers.get('content-type') ?? '', text: await res.text() };
}

/** GET /metrics, parsed; throws unless it answered 200. */
export async function scrape(options: { baseUrl?: string; authorization?: string } = {}): Promise<Scrape> {
  const res = await getMetrics(options);
  if (res.status !== 200) throw new Error(`GET /metrics: ${res.status} ${res.text.slice(0, 200)}`);
  return new Scrape(parseExposition(res.text));
}
