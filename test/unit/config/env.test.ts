import { describe, expect, it } from 'vitest';
import { expandEnv } from '#config/load.ts';
import { errorOf } from './fixtures.ts';

describe('expandEnv', () => {
  it('replaces ${NAME} with the variable and keeps everything else, $ included', () => {
    expect(expandEnv('Bearer ${TOKEN}, costs $5', { TOKEN: 't0k' })).toBe('Bearer t0k, costs $5');
  });

  it('uses the default of ${NAME:-default} when the variable is unset or empty', () => {
    expect(expandEnv('${A:-x}/${B:-y}/${C:-z}/${D:-}', { B: '', C: 'c' })).toBe('x/y/c/');
  });

  it('keeps a variable that is set but empty, without a default, as empty', () => {
    expect(expandEnv('[${EMPTY}]', { EMPTY: '' })).toBe('[]');
  });

  it('reads $${ as a literal ${', () => {
    expect(expandEnv('$${NOT_A_VARIABLE} and ${A}', { A: 'a' })).toBe('${NOT_A_VARIABLE} and a');
  });

  it('does not expand a variable whose value holds a reference again', () => {
    expect(expandEnv('${A}', { A: '${B}', B: 'b' })).toBe('${B}');
  });

  it('reads only variables that are set: an inherited property of the environment is not one', () => {
    for (const name of ['toString', 'constructor', 'valueOf', '__proto__']) {
      expect(errorOf(() => expandEnv(`\${${name}}`, {})).issues[0]?.message).toMatch(/is not set/);
      expect(expandEnv(`\${${name}:-fallback}`, {})).toBe('fallback');
    }
  });

  it('refuses an unset variable without a default, naming the variable and its line', () => {
    // Act
    const error = errorOf(() => expandEnv('first: ${SET}\nsecond: ${UNSET}', { SET: 'x' }));

    // Assert
    expect(error.issues).toEqual([
      {
        path: '',
        line: 2,
        column: 9,
        message: 'environment variable UNSET is not set (write ${UNSET:-default} for a default)',
      },
    ]);
    expect(error.message).toContain('line 2:9: environment variable UNSET is not set');
  });

  it('refuses malformed and unterminated references instead of keeping them as text', () => {
    const error = errorOf(() => expandEnv('${1BAD} ${A:-${B}} ${OPEN', {}));

    expect(error.issues.map((i) => [i.column, i.message.split(':')[0]])).toEqual([
      [1, 'malformed variable reference'],
      [9, 'malformed variable reference'],
      [20, 'unterminated "${" (write "$${" for a literal "${")'],
    ]);
  });

  it('never puts the value of a variable in an error', () => {
    const error = errorOf(() => expandEnv('${SECRET} ${MISSING}', { SECRET: 's3cr3t' }));

    expect(error.message).not.toContain('s3cr3t');
  });
});
