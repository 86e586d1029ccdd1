import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * The map of docs/architecture.md ("The folders, and what each may import"), held against the
 * code's imports: a folder of functions/lib imports only the folders it is allowed, so imports
 * point down and the domain never reaches the infrastructure.
 */

const ROOT = resolve(import.meta.dirname, '..', '..', '..');
const LIB = join(ROOT, 'functions', 'lib');

/** Each folder of functions/lib and the folders of functions/lib it may import. */
const ALLOWED: Record<string, string[]> = {
  net: [],
  registry: ['net'],
  config: ['net'],
  jobs: [],
  events: ['config', 'registry'],
  replication: ['config', 'registry'],
  stores: ['jobs', 'config'],
  dispatch: ['jobs'],
  webhook: ['jobs', 'events', 'replication', 'config', 'registry'],
  workflow: ['jobs', 'replication', 'registry', 'config'],
  runtime: ['jobs', 'stores', 'registry', 'config'],
  reconcile: ['jobs'],
  drift: ['jobs', 'replication', 'config', 'registry'],
  api: ['stores', 'jobs', 'runtime', 'drift', 'replication', 'config', 'registry'],
  app: [
    'api',
    'stores',
    'jobs',
    'dispatch',
    'webhook',
    'workflow',
    'reconcile',
    'drift',
    'runtime',
    'replication',
    'config',
    'registry',
  ],
};

const ALIASES: Record<string, string> = {
  '#registry/': join(LIB, 'registry'),
  '#replication/': join(LIB, 'replication'),
  '#config/': join(LIB, 'config'),
  '#net/': join(LIB, 'net'),
  '#cli/': join(ROOT, 'cli'),
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? filesUnder(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );
}

/** The files of this repository a module imports (statically or with import()), as absolute paths. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:from|import)\s*\(?\s*'([^']+)'/g)].map((m) => m[1] as string);
  return specifiers.flatMap((specifier) => {
    if (specifier.startsWith('.')) return [resolve(dirname(file), specifier)];
    const alias = Object.keys(ALIASES).find((prefix) => specifier.startsWith(prefix));
    return alias ? [join(ALIASES[alias] as string, specifier.slice(alias.length))] : [];
  });
}

/** `functions/lib/<folder>/…` → folder; anything else of the repository → its path from the root. */
const placeOf = (path: string) => {
  const inLib = relative(LIB, path);
  return inLib.startsWith('..') ? relative(ROOT, path) : (inLib.split('/')[0] as string);
};

describe('the layering of functions/lib', () => {
  it('has a rule for every folder', () => {
    const folders = readdirSync(LIB, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name);
    expect(folders.sort()).toEqual(Object.keys(ALLOWED).sort());
  });

  it('imports only downwards: each folder only what the map allows, never infra, cli or a handler', () => {
    const breaches: string[] = [];
    for (const file of filesUnder(LIB)) {
      const from = placeOf(file);
      for (const target of importsOf(file)) {
        const to = placeOf(target);
        if (to === from) continue;
        if (!(ALLOWED[from] ?? []).includes(to))
          breaches.push(`${relative(ROOT, file)} → ${relative(ROOT, target)}`);
      }
    }
    expect(breaches).toEqual([]);
  });
});
