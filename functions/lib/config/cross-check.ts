import type { z } from 'zod';

/**
 * Checks that span items: unique names, references to declared registries, policies that would
 * replicate into their own source. It also runs on a config that failed elsewhere (so that one
 * run reports every problem), hence it reads the value defensively.
 */

type Item = Record<string, unknown>;
type Path = (string | number)[];

const isItem = (value: unknown): value is Item =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const stringAt = (item: unknown, key: string): string | undefined =>
  isItem(item) && typeof item[key] === 'string' ? item[key] : undefined;
const itemsOf = (config: Item, kind: string): [Item, number][] => {
  const list = config[kind];
  return Array.isArray(list) ? list.flatMap((item, index) => (isItem(item) ? [[item, index]] : [])) : [];
};

export function crossCheck(config: unknown, ctx: z.RefinementCtx): void {
  if (!isItem(config)) return;
  const issue = (path: Path, message: string) => ctx.addIssue({ code: 'custom', path, message });

  for (const kind of ['registries', 'sources', 'policies']) {
    const firstIndex = new Map<string, number>();
    for (const [item, index] of itemsOf(config, kind)) {
      const name = stringAt(item, 'name');
      if (name === undefined) continue;
      const first = firstIndex.get(name);
      if (first === undefined) firstIndex.set(name, index);
      else issue([kind, index, 'name'], `duplicate name "${name}" (also ${kind}[${first}])`);
    }
  }

  const declared = itemsOf(config, 'registries').flatMap(([r]) => stringAt(r, 'name') ?? []);
  const mustBeDeclared = (path: Path, registry: string | undefined) => {
    if (registry === undefined || declared.includes(registry)) return;
    const known = declared.length === 0 ? 'no registries are declared' : `declared: ${declared.join(', ')}`;
    issue(path, `unknown registry "${registry}" (${known})`);
  };
  for (const [source, index] of itemsOf(config, 'sources')) {
    mustBeDeclared(['sources', index, 'registry'], stringAt(source, 'registry'));
  }
  for (const [policy, index] of itemsOf(config, 'policies')) {
    const from = policy.source;
    const to = policy.destination;
    mustBeDeclared(['policies', index, 'source', 'registry'], stringAt(from, 'registry'));
    mustBeDeclared(['policies', index, 'destination', 'registry'], stringAt(to, 'registry'));
    const loop = selfReplication(from, to);
    if (loop) issue(['policies', index, 'destination'], loop);
  }
}

/**
 * On one registry, a destination without a namespace is the source itself, and a namespace
 * inside the project makes every copy a new push into the project, copied again without end.
 */
function selfReplication(from: unknown, to: unknown): string | undefined {
  const registry = stringAt(from, 'registry');
  const project = stringAt(from, 'project');
  if (registry === undefined || project === undefined || registry !== stringAt(to, 'registry')) return;
  const namespace = stringAt(to, 'namespace');
  if (namespace === undefined) return 'is the source itself: set a namespace or another registry';
  if (namespace === project || namespace.startsWith(`${project}/`))
    return `namespace "${namespace}" lies inside the source project "${project}" of the same registry, so every copy would be copied again`;
  return undefined;
}
