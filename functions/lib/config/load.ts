import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { readCaBundle } from './ca-bundle.ts';
import { expandReferences } from './env.ts';
import { ConfigError, type ConfigIssue } from './errors.ts';
import { plainMessages, YAML_WORDS } from './messages.ts';
import { type CrossdockConfig, configSchema } from './schema.ts';

export { expandEnv } from './env.ts';

/**
 * Reads the YAML config: parse, then expand `${ENV}` inside string values (after parsing, so
 * that a variable's value can never inject YAML structure), then validate. Every problem is
 * reported at once, with its path and its line:column.
 */

type Path = readonly PropertyKey[];
interface ParseOptions {
  env?: NodeJS.ProcessEnv;
  /** For messages, and the directory that a relative caFile is relative to. */
  file?: string;
}

/** `['policies', 1, 'filters', 'tags', 0]` → `policies[1].filters.tags[0]`. */
export function formatPath(path: Path): string {
  return path
    .map((part, index) =>
      typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`,
    )
    .join('');
}

export function parseConfig(text: string, options: ParseOptions = {}): CrossdockConfig {
  return parse(text, options).config;
}

export async function loadConfig(
  file: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<CrossdockConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : (code ?? String(error));
    throw new ConfigError([{ path: '', message: `cannot read the config: ${reason}` }], file);
  }
  const { config, locate } = parse(text, { env, file });
  // Read here, once, rather than at the first TLS handshake: the error is next to its cause, and
  // no request ever reads a file a registry entry names (docs/security.md).
  const unusable: ConfigIssue[] = [];
  for (const [index, registry] of config.registries.entries()) {
    if (registry.caFile === undefined) continue;
    const bundle = await readCaBundle(registry.caFile);
    const path = ['registries', index, 'caFile'];
    if ('pem' in bundle) registry.caCertificates = bundle.pem;
    else unusable.push({ path: formatPath(path), message: bundle.problem, ...locate(path) });
  }
  if (unusable.length > 0) throw new ConfigError(unusable, file);
  return config;
}

function parse(text: string, { env = process.env, file }: ParseOptions) {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, prettyErrors: false });
  if (document.errors.length > 0) {
    const issues = document.errors.map((error) => {
      const { line, col } = lineCounter.linePos(error.pos[0]);
      return { path: '', message: error.message, line, column: col };
    });
    throw new ConfigError(issues, file);
  }
  const locate = (path: Path, atKey = false) => positionOf(document, lineCounter, path, atKey);

  const issues: ConfigIssue[] = [];
  expandStrings(document.contents, env, [], (path, message) => {
    issues.push({ path: formatPath(path), message, ...locate(path) });
  });
  if (issues.length > 0) throw new ConfigError(issues, file);

  const parsed = configSchema.safeParse(toPlainValue(document, file) ?? {}, { error: plainMessage });
  if (!parsed.success) {
    const found = parsed.error.issues.flatMap((issue) => toConfigIssues(issue, locate));
    throw new ConfigError(sortByPosition(found), file);
  }
  const config = parsed.data;
  if (file !== undefined) {
    for (const registry of config.registries) {
      if (registry.caFile !== undefined) registry.caFile = resolve(dirname(file), registry.caFile);
    }
  }
  return { config, locate };
}

/**
 * The document as plain values. Resolving aliases can fail (an alias before its anchor, or one
 * that expands to too many nodes: the yaml library's guard against alias bombs), which the
 * library throws as a ReferenceError: it is a problem of the config like any other.
 */
function toPlainValue(document: Document, file: string | undefined): unknown {
  try {
    return document.toJS();
  } catch (error) {
    if (!(error instanceof ReferenceError)) throw error;
    throw new ConfigError([{ path: '', message: `YAML aliases: ${error.message}` }], file);
  }
}

/** Expands references in every string scalar, in place; aliases share their anchor's node. */
function expandStrings(
  node: unknown,
  env: NodeJS.ProcessEnv,
  path: (string | number)[],
  report: (path: Path, message: string) => void,
): void {
  if (isScalar(node) && typeof node.value === 'string') {
    const { value, problems } = expandReferences(node.value, env);
    for (const problem of problems) report(path, problem.message);
    node.value = value;
  } else if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      expandStrings(pair.value, env, [...path, key], report);
    }
  } else if (isSeq(node)) {
    for (const [index, item] of node.items.entries()) expandStrings(item, env, [...path, index], report);
  }
}

/** Where `path` is in the file: its node, or the nearest enclosing one when it is missing. */
function positionOf(
  document: Document,
  lineCounter: LineCounter,
  path: Path,
  atKey: boolean,
): { line?: number; column?: number } {
  let node: Node | null = document.contents;
  for (const [index, part] of path.entries()) {
    let next: unknown;
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(part));
      next = atKey && index === path.length - 1 ? pair?.key : pair?.value;
    } else if (isSeq(node) && typeof part === 'number') {
      next = node.items[part];
    }
    if (!next || typeof next !== 'object' || !('range' in next)) break;
    node = next as Node;
  }
  const offset = node?.range?.[0];
  if (offset === undefined) return {};
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

/** One issue per unknown key, pointing at the key itself. */
function toConfigIssues(
  issue: z.core.$ZodIssue,
  locate: (path: Path, atKey?: boolean) => { line?: number; column?: number },
): ConfigIssue[] {
  const paths =
    issue.code === 'unrecognized_keys' ? issue.keys.map((key) => [...issue.path, key]) : [issue.path];
  return paths.map((path) => ({
    path: formatPath(path),
    message: issue.message,
    ...locate(path, issue.code === 'unrecognized_keys'),
  }));
}

function sortByPosition(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.toSorted((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
}

const plainMessage = plainMessages(YAML_WORDS);
