import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median, pairedRatio } from './measure.ts';

/**
 * The workloads' results as one markdown table, a JSON file and an SVG chart. Whether a target
 * is met is computed here from the measured numbers and the target's own figures, never written
 * by a workload; the target's text is made from the same figures.
 */

/** What one tool did in each run of a workload. */
export interface Side {
  seconds: number[];
  /** Peak resident memory per run, bytes. */
  peakRssBytes?: (number | undefined)[];
  /** Bytes uploaded to the destination per run (what `Row.bytesWhat` says). */
  bytes?: (number | undefined)[];
}

export interface Target {
  /** crossdock ÷ skopeo at most this: the median of the runs' paired ratios. */
  maxRatio?: number;
  /** crossdock's peak RSS under this many MB (10⁶ bytes) in every run. */
  maxRssMB?: number;
  /** crossdock's bytes uploaded at most this in every run. */
  maxBytes?: number;
  /** How the bytes target reads ("0 bytes", "each blob once"). */
  bytesText?: string;
}

export interface Row {
  /** W1 … W5 */
  id: string;
  title: string;
  /** A few words for the chart. */
  short: string;
  crossdock: Side;
  skopeo?: Side;
  /** A reference row: the raw ceiling of the same copy, seconds per run; crossdock and skopeo are rated against it. */
  ceiling?: number[];
  /** What the bytes count: "blob bytes" (default) or "all upload bytes". */
  bytesWhat?: string;
  /** The distinct blobs' bytes the destination needs, for the bytes cell. */
  distinctBytes?: number;
  /** What crossdock's RSS is of ("serve", "bin's flags", …), for the RSS cell. */
  rssOf?: string;
  target: Target;
  notes?: string[];
  /** The workload failed: why. */
  error?: string;
}

export interface Check {
  text: string;
  ok: boolean;
}

export interface Summary {
  row: Row;
  crossdockSeconds: number | undefined;
  skopeoSeconds: number | undefined;
  /** crossdock ÷ skopeo: the median of the runs' paired ratios (measure.ts, pairedRatio). */
  ratio: number | undefined;
  /** The paired ratios' lowest and highest. */
  ratioRange: [number, number] | undefined;
  /** The medians' ratio, for comparison with runs before the pairing. */
  ratioOfMedians: number | undefined;
  ceilingSeconds: number | undefined;
  crossdockBytes: number | undefined;
  skopeoBytes: number | undefined;
  crossdockRssMedian: number | undefined;
  crossdockRssMax: number | undefined;
  skopeoRssMedian: number | undefined;
  checks: Check[];
  /** undefined: nothing to meet (a reference row). */
  met: boolean | undefined;
}

const defined = (values: (number | undefined)[] | undefined) =>
  (values ?? []).filter((v): v is number => v !== undefined);
const medianOf = (values: (number | undefined)[] | undefined) => {
  const known = defined(values);
  return known.length === 0 ? undefined : median(known);
};
const maxOf = (values: (number | undefined)[] | undefined) => {
  const known = defined(values);
  // A run that measured nothing makes the maximum unknown, not smaller.
  return known.length === 0 || known.length < (values ?? []).length ? undefined : Math.max(...known);
};

const MB = 1e6;
const MiB = 1024 * 1024;
const seconds = (s: number | undefined) => (s === undefined ? '—' : `${s.toFixed(2)} s`);
/** Bytes as MB (10⁶), the unit the RSS targets are in: `90.6 MB`. */
export const mb = (bytes: number) => `${(bytes / MB).toFixed(1)} MB`;
const mib = (bytes: number) => (bytes === 0 ? '0 bytes' : `${(bytes / MiB).toFixed(1)} MiB`);

export function summarize(row: Row): Summary {
  const crossdockSeconds = medianOf(row.crossdock.seconds);
  const skopeoSeconds = medianOf(row.skopeo?.seconds);
  // Paired run by run (measure.ts, pairedRatio); the ratio of the medians is shown beside it.
  const paired =
    crossdockSeconds !== undefined && skopeoSeconds !== undefined
      ? pairedRatio(defined(row.crossdock.seconds), defined(row.skopeo?.seconds))
      : undefined;
  const ratio = paired?.median;
  const ratioOfMedians =
    crossdockSeconds !== undefined && skopeoSeconds !== undefined
      ? crossdockSeconds / skopeoSeconds
      : undefined;
  const crossdockBytes = medianOf(row.crossdock.bytes);
  const crossdockRssMax = maxOf(row.crossdock.peakRssBytes);
  const checks: Check[] = [];
  const { maxRatio, maxRssMB, maxBytes } = row.target;
  if (row.error !== undefined) checks.push({ text: 'failed', ok: false });
  else {
    if (maxRatio !== undefined)
      checks.push(
        ratio === undefined
          ? { text: 'ratio not measured', ok: false }
          : {
              text: `${ratio.toFixed(2)} × ${ratio <= maxRatio ? '≤' : '>'} ${maxRatio}`,
              ok: ratio <= maxRatio,
            },
      );
    if (maxRssMB !== undefined)
      checks.push(
        crossdockRssMax === undefined
          ? { text: 'RSS not measured', ok: false }
          : {
              text: `RSS max ${mb(crossdockRssMax)} ${crossdockRssMax < maxRssMB * MB ? '<' : '≥'} ${maxRssMB} MB`,
              ok: crossdockRssMax < maxRssMB * MB,
            },
      );
    if (maxBytes !== undefined) {
      const most = maxOf(row.crossdock.bytes);
      checks.push(
        most === undefined
          ? { text: 'bytes not measured', ok: false }
          : {
              text: `${mib(most)} ${most <= maxBytes ? '≤' : '>'} ${mib(maxBytes)}`,
              ok: most <= maxBytes,
            },
      );
    }
  }
  return {
    row,
    crossdockSeconds,
    skopeoSeconds,
    ratio,
    ratioRange: paired && [paired.min, paired.max],
    ratioOfMedians,
    ceilingSeconds: medianOf(row.ceiling),
    crossdockBytes,
    skopeoBytes: medianOf(row.skopeo?.bytes),
    crossdockRssMedian: medianOf(row.crossdock.peakRssBytes),
    crossdockRssMax,
    skopeoRssMedian: medianOf(row.skopeo?.peakRssBytes),
    checks,
    met: checks.length === 0 ? undefined : checks.every((c) => c.ok),
  };
}

function targetText({ maxRatio, maxRssMB, maxBytes, bytesText }: Target): string {
  const parts = [
    ...(maxRatio === undefined ? [] : [`≤ ${maxRatio} ×`]),
    ...(maxRssMB === undefined ? [] : [`RSS < ${maxRssMB} MB`]),
    ...(maxBytes === undefined ? [] : [bytesText ?? `≤ ${mib(maxBytes)}`]),
  ];
  return parts.length === 0 ? '— (reference)' : parts.join(', ');
}

const share = (ceiling: number | undefined, tool: number | undefined) =>
  ceiling === undefined || tool === undefined ? '—' : `${Math.round((ceiling / tool) * 100)} %`;

function cells(s: Summary): string[] {
  const { row } = s;
  if (row.error !== undefined)
    return [
      `${row.id} ${row.title}`,
      `failed: ${row.error.split('\n')[0]}`,
      '—',
      '—',
      '—',
      '—',
      Object.keys(row.target).length === 0 ? '—' : targetText(row.target),
      'no (failed)',
    ];
  const crossdock =
    s.ceilingSeconds !== undefined
      ? `ceiling ${seconds(s.ceilingSeconds)}; crossdock reaches ${share(s.ceilingSeconds, s.crossdockSeconds)} of it`
      : seconds(s.crossdockSeconds);
  const skopeo =
    s.ceilingSeconds !== undefined
      ? `reaches ${share(s.ceilingSeconds, s.skopeoSeconds)}`
      : seconds(s.skopeoSeconds);
  const bytes =
    s.ceilingSeconds !== undefined || s.crossdockBytes === undefined
      ? '—'
      : `${mib(s.crossdockBytes)}${row.distinctBytes ? ` (${(s.crossdockBytes / row.distinctBytes).toFixed(2)} × the distinct blobs)` : ''}${s.skopeoBytes === undefined ? '' : `; skopeo ${mib(s.skopeoBytes)}`}`;
  const rss =
    s.ceilingSeconds !== undefined || s.crossdockRssMedian === undefined
      ? '—'
      : `${mb(s.crossdockRssMedian)}${s.crossdockRssMax !== undefined && s.crossdockRssMax !== s.crossdockRssMedian ? ` (max ${mb(s.crossdockRssMax)})` : ''}${row.rssOf ? ` ${row.rssOf}` : ''}${s.skopeoRssMedian === undefined ? '' : `; skopeo ${mb(s.skopeoRssMedian)}`}`;
  const met =
    s.met === undefined ? '—' : `${s.met ? 'yes' : 'no'}: ${s.checks.map((c) => c.text).join(', ')}`;
  return [
    `${row.id} ${row.title}`,
    crossdock,
    skopeo,
    s.ceilingSeconds !== undefined || s.ratio === undefined
      ? '—'
      : `${s.ratio.toFixed(2)} ×${s.ratioRange && s.ratioOfMedians !== undefined ? ` (${s.ratioRange[0].toFixed(2)}–${s.ratioRange[1].toFixed(2)}; of the medians ${s.ratioOfMedians.toFixed(2)} ×)` : ''}`,
    bytes,
    rss,
    targetText(row.target),
    met,
  ];
}

export function markdownTable(summaries: Summary[]): string {
  const escapeBars = (cell: string) => cell.replaceAll('|', '\\|');
  return [
    '| workload | crossdock | skopeo | ratio | bytes | RSS | target | met? |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
    ...summaries.map((s) => `| ${cells(s).map(escapeBars).join(' | ')} |`),
  ].join('\n');
}

/** Under the table: what each row's bytes count, and its notes. */
export function tableNotes(summaries: Summary[]): string {
  return summaries
    .flatMap(({ row }) => {
      const said = [...(row.bytesWhat ? [`bytes: ${row.bytesWhat}`] : []), ...(row.notes ?? [])];
      return row.error === undefined && said.length > 0
        ? [`- ${row.id} ${row.short}: ${said.join('; ')}`]
        : [];
    })
    .join('\n');
}

const xml = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/**
 * Horizontal bars on one time scale: per workload crossdock's and skopeo's median seconds (a
 * reference row: its ceiling), each labelled, and the ratio coloured by whether its target is met.
 */
export function chartSvg(summaries: Summary[], subtitle: string): string {
  const bars = summaries.filter((s) => s.row.error === undefined);
  const width = 860;
  const left = 230;
  const right = 150;
  const top = 64;
  const group = 46;
  const height = top + bars.length * group + 40;
  const longest = Math.max(
    0.001,
    ...bars.flatMap((s) => [s.crossdockSeconds ?? 0, s.skopeoSeconds ?? 0, s.ceilingSeconds ?? 0]),
  );
  // Room after the longest bar for its label.
  const scale = (width - left - right - 60) / longest;
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${width}" height="${height}" fill="#fff"/>`,
    `<text x="16" y="24" font-size="16" font-weight="bold">crossdock vs skopeo: median seconds per workload (shorter is faster)</text>`,
    `<text x="16" y="44" fill="#555">${xml(subtitle)}</text>`,
    `<rect x="${width - 300}" y="52" width="10" height="10" fill="#2b6cb0"/><text x="${width - 285}" y="61">crossdock</text>`,
    `<rect x="${width - 215}" y="52" width="10" height="10" fill="#a0aec0"/><text x="${width - 200}" y="61">skopeo</text>`,
    `<rect x="${width - 145}" y="52" width="10" height="10" fill="#fff" stroke="#555" stroke-dasharray="3 2"/><text x="${width - 130}" y="61">raw ceiling</text>`,
  ];
  bars.forEach((s, i) => {
    const y = top + 8 + i * group;
    out.push(`<text x="16" y="${y + 20}">${xml(`${s.row.id} ${s.row.short}`)}</text>`);
    const bar = (value: number | undefined, dy: number, style: string) => {
      if (value === undefined) return;
      const w = Math.max(1, value * scale);
      out.push(`<rect x="${left}" y="${y + dy}" width="${w.toFixed(1)}" height="15" ${style}/>`);
      out.push(`<text x="${(left + w + 4).toFixed(1)}" y="${y + dy + 12}">${value.toFixed(2)} s</text>`);
    };
    if (s.ceilingSeconds !== undefined) {
      bar(s.ceilingSeconds, 8, 'fill="#fff" stroke="#555" stroke-dasharray="3 2"');
      out.push(
        `<text x="${width - right + 10}" y="${y + 20}">crossdock at ${share(s.ceilingSeconds, s.crossdockSeconds)}</text>`,
      );
      return;
    }
    bar(s.crossdockSeconds, 0, 'fill="#2b6cb0"');
    bar(s.skopeoSeconds, 17, 'fill="#a0aec0"');
    if (s.ratio !== undefined)
      out.push(
        `<text x="${width - right + 10}" y="${y + 13}" font-weight="bold">${s.ratio.toFixed(2)} ×</text>`,
      );
    if (s.met !== undefined)
      out.push(
        `<text x="${width - right + 10}" y="${y + 29}" font-size="11" fill="${s.met ? '#2f855a' : '#c53030'}">${s.met ? '✓ target met' : '✗ target missed'}</text>`,
      );
  });
  out.push(
    `<text x="16" y="${height - 14}" fill="#555">ratio = crossdock ÷ skopeo; a workload's target may be more than its ratio (RSS, bytes): see the table</text>`,
    '</svg>',
  );
  return `${out.join('\n')}\n`;
}

export interface Results {
  /** When, with what, at what sizes. */
  meta: Record<string, unknown>;
  summaries: Summary[];
  /** The other rows' markdown lines (sync, copy, the pipeline rows). */
  otherRows: string[];
}

/** Writes bench-results/bench-<time>.json, latest.json and latest.svg; answers their paths. */
export function writeResults(dir: string, results: Results): string[] {
  mkdirSync(dir, { recursive: true });
  const at = String(results.meta.date ?? new Date().toISOString()).replaceAll(':', '-');
  const json = `${JSON.stringify(
    {
      ...results.meta,
      workloads: results.summaries.map(({ row, ...figures }) => ({ ...row, ...figures })),
      otherRows: results.otherRows,
    },
    null,
    2,
  )}\n`;
  const files = [join(dir, `bench-${at}.json`), join(dir, 'latest.json'), join(dir, 'latest.svg')];
  writeFileSync(files[0] as string, json);
  writeFileSync(files[1] as string, json);
  writeFileSync(
    files[2] as string,
    chartSvg(
      results.summaries,
      `${results.meta.date}, median of ${results.meta.runs} runs, ${results.meta.machine}${results.meta.fullSize === false ? ', REDUCED SIZES' : ''}`,
    ),
  );
  return files;
}
