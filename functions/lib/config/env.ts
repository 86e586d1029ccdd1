import { ConfigError, type ConfigIssue } from './errors.ts';

/**
 * `${ENV}` references in config values:
 * - `${NAME}` is the variable's value; unset is an error (set but empty is fine: '').
 * - `${NAME:-default}` is the default when NAME is unset or empty, as in POSIX shells.
 * - `$${` is a literal `${`; a `$` anywhere else is literal (passwords often hold one).
 * - Any other `${…}` (bad name, no closing brace) is an error rather than text kept as is.
 * Problems name the variable, never a value: values are often secrets.
 */

export interface ReferenceProblem {
  /** Offset of the reference in the text. */
  offset: number;
  message: string;
}

const REFERENCE = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
/** A name, and optionally a default that holds no further reference (no nesting). */
const BODY = /^([A-Za-z_][A-Za-z0-9_]*)(?::-((?:(?!\$\{).)*))?$/s;

/** Expands every reference in `text`, collecting problems instead of stopping at the first. */
export function expandReferences(
  text: string,
  env: NodeJS.ProcessEnv,
): { value: string; problems: ReferenceProblem[] } {
  const problems: ReferenceProblem[] = [];
  const value = text.replace(REFERENCE, (match: string, body: string | undefined, offset: number) => {
    if (match === '$${') return '${';
    const parsed = body === undefined ? null : BODY.exec(body);
    if (!parsed) {
      problems.push({
        offset,
        message:
          body === undefined
            ? 'unterminated "${" (write "$${" for a literal "${")'
            : // biome-ignore lint/suspicious/noTemplateCurlyInString: the message shows the syntax itself
              'malformed variable reference: write ${NAME} or ${NAME:-default} (NAME: letters, digits, "_"), or "$${" for a literal "${"',
      });
      return match;
    }
    const [, name, fallback] = parsed as unknown as [string, string, string | undefined];
    // Own properties only: `${toString}` names no variable, not Object.prototype's function.
    const found = Object.hasOwn(env, name) ? env[name] : undefined;
    if (fallback !== undefined) return found === undefined || found === '' ? fallback : found;
    if (found !== undefined) return found;
    problems.push({
      offset,
      message: `environment variable ${name} is not set (write \${${name}:-default} for a default)`,
    });
    return '';
  });
  return { value, problems };
}

/** Expands `${NAME}`, `${NAME:-default}` and `$${` in `text`; throws a ConfigError naming each line at fault. */
export function expandEnv(text: string, env: NodeJS.ProcessEnv): string {
  const { value, problems } = expandReferences(text, env);
  if (problems.length > 0) throw new ConfigError(problems.map((p) => issueAt(text, p)));
  return value;
}

function issueAt(text: string, problem: ReferenceProblem): ConfigIssue {
  const before = text.slice(0, problem.offset);
  const line = before.split('\n').length;
  const column = problem.offset - before.lastIndexOf('\n');
  return { path: '', message: problem.message, line, column };
}
