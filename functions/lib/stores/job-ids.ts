import { randomBytes } from 'node:crypto';

/** Crockford's base32: no I, L, O, U, so ids survive being read aloud or typed. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A sortable job id in the manner of a ULID: 10 characters of the creation time in
 * milliseconds, then 16 random characters (80 bits). Ids made later sort later (as strings).
 */
export function newJobId(
  nowMs: number = Date.now(),
  random: (size: number) => Uint8Array = randomBytes,
): string {
  let time = '';
  let rest = Math.floor(nowMs);
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[rest % 32] + time;
    rest = Math.floor(rest / 32);
  }
  let tail = '';
  for (const byte of random(16)) tail += ALPHABET[byte % 32];
  return time + tail;
}
