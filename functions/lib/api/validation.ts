import type { z } from 'zod';
import { formatPath } from '#config/load.ts';
import { configSchema, type PolicyConfig, type RegistryConfig, type SourceConfig } from '#config/schema.ts';
import { JSON_WORDS, plainMessages } from '../config/messages.ts';
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

const plainMessage = plainMessages(JSON_WORDS);
