import { describe, expect, it } from 'vitest';
import { describeError } from '../../../cli/run-summary.ts';
import { ConfigError } from '../../../functions/lib/config/errors.ts';

describe('describeError', () => {
  it("prints a config's problems one per line, each with its file and place", () => {
    const error = new ConfigError(
      [
        { path: 'policys', message: 'unknown key', line: 4, column: 1 },
        { path: 'policies[0].destination.registry', message: 'unknown registry "nowhere"', line: 7 },
      ],
      'crossdock.yaml',
    );

    expect(describeError(error)).toBe(
      [
        'invalid config:',
        '  crossdock.yaml:4:1: policys: unknown key',
        '  crossdock.yaml:7: policies[0].destination.registry: unknown registry "nowhere"',
      ].join('\n'),
    );
  });

  it("escapes control characters inside a config's problem, not the breaks between problems", () => {
    const error = new ConfigError([{ path: 'bad\u001b[2Jkey', message: 'unknown key' }], 'c.yaml');

    expect(describeError(error)).toBe('invalid config:\n  c.yaml: bad\\x1b[2Jkey: unknown key');
  });

  it("keeps a registry's text on one line: its line breaks are printed escaped", () => {
    const error = new Error('denied\nFAILED nothing: a line crossdock never wrote');

    expect(describeError(error)).toBe('denied\\x0aFAILED nothing: a line crossdock never wrote');
  });
});
