import type { JobView } from '../../functions/lib/api/views.ts';
import { formatBytes, printable } from '../format.ts';

/** Tables and one-line descriptions for the API commands. */

export type OutputFormat = 'table' | 'json';

export function parseOutput(text: string): OutputFormat {
  if (text === 'table' || text === 'json') return text;
  throw new Error(`--output must be table or json, not "${text}"`);
}

/**
 * Columns padded to their widest cell; the last column is not padded. Cells are API answers
 * (records, registries' error text): their control characters are printed escaped.
 */
export function renderTable(header: string[], cellRows: string[][]): string {
  const rows = cellRows.map((row) => row.map(printable));
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}

/** `42s`, `5m`, `3h`, `2d`: how long ago `iso` was. */
export function formatAge(iso: string | undefined, now: number = Date.now()): string {
  if (iso === undefined) return '-';
  const seconds = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds}s`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 48 * 3600) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

export const JOB_COLUMNS = [
  'JOB',
  'POLICY',
  'ACTION',
  'REPOSITORY:TAG',
  'STATUS',
  'SUBSTATE',
  'BYTES',
  'AGE',
];

export function jobRow(job: JobView, now: number = Date.now()): string[] {
  const status = job.cancelRequested && job.status === 'RUNNING' ? 'RUNNING (cancelling)' : job.status;
  return [
    job.id,
    job.policy,
    job.action,
    `${job.sourceRepository}:${job.tag}`,
    status,
    job.substate ?? '-',
    formatBytes(job.bytesCopied ?? 0),
    formatAge(job.createdAt, now),
  ];
}
