import { describe, expect, it } from 'vitest';
import { printable } from '../../../cli/format.ts';

/** Every character a terminal acts on instead of showing: C0 controls, DEL, C1 controls. */
const CONTROL = /\p{Cc}/u;

describe('printable', () => {
  it('shows terminal escape sequences escaped instead of sending them', () => {
    const hostile = 'manifest unknown\x1b[2J\x1b]0;owned\x07\x9b31mred\x1bP+q\x1b\\';

    const shown = printable(hostile);

    expect(shown).toBe('manifest unknown\\x1b[2J\\x1b]0;owned\\x07\\x9b31mred\\x1bP+q\\x1b\\');
    expect(shown).not.toMatch(CONTROL);
  });

  it('keeps a message on its line: newlines, carriage returns and tabs are escaped too', () => {
    expect(printable('a\nFAILED fake\r\tb\u0000')).toBe('a\\x0aFAILED fake\\x0d\\x09b\\x00');
  });

  it('escapes the Unicode characters that reorder or break a line', () => {
    expect(printable('v1\u202egnp.exe\u2066x\u2069\u2028')).toBe('v1\\u202egnp.exe\\u2066x\\u2069\\u2028');
  });

  it('leaves printable text as it is, non-ASCII letters included', () => {
    const text = 'team-a/app:v1 → sha256:abc — Grüße, 日本';

    expect(printable(text)).toBe(text);
  });
});
