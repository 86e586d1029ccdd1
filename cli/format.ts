/** Human-readable numbers for progress lines and summaries. */

export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

export function formatSeconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function shortDigest(digest: string): string {
  return digest.replace(/^(\w+:)?([0-9a-f]{12})[0-9a-f]*$/, '$2');
}

/**
 * Control characters (`\p{Cc}`: C0, DEL, C1) and the Unicode ones that reorder or break a line
 * (bidi embeddings, overrides and isolates, line and paragraph separators).
 */
const UNPRINTABLE = /[\p{Cc}\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/gu;

/**
 * Text that came from elsewhere (a registry's error message, a job record, an API answer) made
 * safe to print on a terminal: each control character is shown escaped (`\x1b`, `\u202e`)
 * instead of being sent, so that none can move the cursor, clear the screen, set the window
 * title, hide text or pass itself off as crossdock's own output on another line.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE, (char) => {
    const code = char.charCodeAt(0);
    return code <= 0xff
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`;
  });
}
