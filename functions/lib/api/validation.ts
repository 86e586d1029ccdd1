import type { z } from 'zod';
import { formatPath } from '#config/load.ts';
import { configSchema, type PolicyConfig, type RegistryConfig, type SourceConfig } from '#config/schema.ts';
import { BadRequestError, type Issue } from './errors.ts';

/**
 * Bodies of the config routes, validated with the YAML config's own schema, so that an item is
 * accepted through the API exactly when it would be accepted in a config file. Each item is
 * checked inside a config made of it and the stored registries, so the checks across items run
 * too (a policy naming a registry that does not exist, a policy replicating into its own source).
 * Issues name the path inside the body (`filters.tags[0]`) and never a value: a value may be a
 * secret.
 */

export type ConfigKind = 'registry' | 'source' | 'policy';
type Section = 'registries' | 'sources' | 'policies';
const SECTIONS: Record<ConfigKind, Section> = {
  registry: 'registries',
  source: 'sources',
  policy: 'policies',
};

export interface ConfigItems {
  registry: RegistryConfig;
  source: SourceConfig;
  policy: PolicyConfig;
}

export function validateItem<K extends ConfigKind>(
  kind: K,
  body: unknown,
  storedRegistries: readonly RegistryConfig[],
  extraIssues: Issue[] = [],
): ConfigItems[K] {
  const section = SECTIONS[kind];
  const document =
    kind === 'registry' ? { registries: [body] } : { registries: storedRegistries, [section]: [body] };
  const parsed = configSchema.safeParse(document, { error: plainMessage });
  const issues = [
    ...extraIssues,
    ...(parsed.success ? [] : parsed.error.issues.flatMap((issue) => issuesUnder(issue, [section, 0]))),
  ];
  if (issues.length > 0 || !parsed.success) throw invalid(kind, issues);
  const items = parsed.data[section] as ConfigItems[K][];
  return items[0] as ConfigItems[K];
}

/** A BadRequestError whose message lists every issue on one line. */
export function invalid(what: string, issues: readonly Issue[]): BadRequestError {
  const described = issues.map((issue) =>
    issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`,
  );
  return new BadRequestError(`invalid ${what}: ${described.join('; ') || 'rejected'}`, issues);
}

/** Issues of the item at `prefix`, with paths relative to it; unknown keys one per key. */
function issuesUnder(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[]): Issue[] {
  const inside = prefix.every((part, index) => issue.path[index] === part);
  if (!inside) return [];
  const relative = issue.path.slice(prefix.length);
  const paths = issue.code === 'unrecognized_keys' ? issue.keys.map((key) => [...relative, key]) : [relative];
  return paths.map((path) => ({ path: formatPath(path), message: issue.message }));
}

/** Zod's generic messages in the terms of a JSON body; a value is never quoted. */
function plainMessage(issue: z.core.$ZodRawIssue): string | undefined {
  if (issue.code === 'invalid_type') {
    if (issue.input === undefined) return 'is required';
    return `must be ${describeType(issue.expected)}, not ${describeValue(issue.input)}`;
  }
  if (issue.code === 'invalid_value') return `must be one of: ${issue.values.map(String).join(', ')}`;
  return undefined;
}

function describeType(expected: string): string {
  const names: Record<string, string> = { object: 'an object', array: 'an array', boolean: 'true or false' };
  return names[expected] ?? `a ${expected}`;
}

function describeValue(input: unknown): string {
  if (input === null) return 'null';
  if (Array.isArray(input)) return 'an array';
  if (typeof input === 'object') return 'an object';
  return `a ${typeof input}`;
}
