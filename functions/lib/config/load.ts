import { readFile } from 'node:fs/promises';
import { isMap, isScalar, isSeq, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from './errors.ts';
import { type CrossdockConfig, configSchema } from './schema.ts';

/**
 * Reads the YAML config: parse, then expand `${ENV}` inside string values (after parsing, so a
 * variable's value can never inject YAML structure), then validate. Every problem is reported
 * with its path.
 */

const VARIABLE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces `${NAME}` and `${NAME:-default}`; `$${` is a literal `${`. Unset without default → an issue. */
export function expandEnv(text: string, env: NodeJS.ProcessEnv): { value: string; missing: string[] } {
  const missing: string[] = [];
  const value = text.replace(
    VARIABLE,
    (match, variable: string | undefined, fallback: string | undefined) => {
      if (match === '$${') return '${';
      const found = env[variable as string];
      if (found !== undefined) return found;
      if (fallback !== undefined) return fallback;
      missing.push(variable as string);
      return '';
    },
  );
  return { value, missing };
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((part, index) =>
      typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`,
    )
    .join('');
}

/** Walks the parsed document and expands variables in every string scalar, recording misses. */
function expandNode(
  node: Node | null | undefined,
  env: NodeJS.ProcessEnv,
  path: (string | number)[],
  issues: ConfigIssue[],
): void {
  if (isScalar(node) && typeof node.value === 'string') {
    const { value, missing } = expandEnv(node.value, env);
    for (const variable of missing) {
      issues.push({
        path: formatPath(path),
        message: `environment variable ${variable} is not set (use \${${variable}:-default} for a default)`,
      });
    }
    node.value = value;
  } else if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      expandNode(pair.value as Node, env, [...path, key], issues);
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, index) => expandNode(item as Node, env, [...path, index], issues));
  }
}

function zodIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path), message: issue.message }));
}

export function parseConfig(
  text: string,
  options: { env?: NodeJS.ProcessEnv; file?: string } = {},
): CrossdockConfig {
  const document = parseDocument(text);
  if (document.errors.length > 0) {
    throw new ConfigError(
      document.errors.map((e) => {
        const position = e.linePos?.[0];
        return {
          path: position ? `line ${position.line}:${position.col}` : '',
          message: e.message.split('\n')[0] ?? e.message,
        };
      }),
      options.file,
    );
  }
  const issues: ConfigIssue[] = [];
  expandNode(document.contents as Node, options.env ?? process.env, [], issues);
  if (issues.length > 0) throw new ConfigError(issues, options.file);
  const parsed = configSchema.safeParse(document.toJS() ?? {});
  if (!parsed.success) throw new ConfigError(zodIssues(parsed.error), options.file);
  return parsed.data;
}

export async function loadConfig(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CrossdockConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : String(error);
    throw new ConfigError([{ path: '', message: `cannot read the config: ${reason}` }], file);
  }
  return parseConfig(text, { env, file });
}
