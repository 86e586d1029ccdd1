import { describe, expect, it } from 'vitest';
import { ConfigError } from '#config/errors.ts';

describe('ConfigError', () => {
  it('lists every issue on its own line, prefixed with the file and position when known', () => {
    // Arrange
    const issues = [
      { path: 'policies[0].destination.registry', message: 'unknown registry "dc-c"', line: 17, column: 28 },
      { path: 'limits.runningJobs', message: 'must be at least 1' },
    ];

    // Act
    const error = new ConfigError(issues, 'crossdock.yaml');

    // Assert
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('ConfigError');
    expect(error.issues).toEqual(issues);
    expect(error.message).toBe(
      [
        'invalid config:',
        '  crossdock.yaml:17:28: policies[0].destination.registry: unknown registry "dc-c"',
        '  crossdock.yaml: limits.runningJobs: must be at least 1',
      ].join('\n'),
    );
  });

  it('names the line alone when there is no file, and leaves out an empty path', () => {
    const error = new ConfigError([{ path: '', message: 'bad indentation', line: 2, column: 5 }]);

    expect(error.message).toBe('invalid config:\n  line 2:5: bad indentation');
  });
});
