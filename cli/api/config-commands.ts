import { loadConfig } from '#config/load.ts';
import type { CrossdockConfig, PolicyConfig, RegistryConfig, SourceConfig } from '#config/schema.ts';
import type { ApiConnectionOptions, ApplyOptions, ListingOptions } from '../commands.ts';
import { printable } from '../format.ts';
import type { CliIo } from '../io.ts';
import { describeError } from '../run-summary.ts';
import { runApiCommand } from './client.ts';
import { parseOutput, renderTable } from './table.ts';

/**
 * `crossdock apply --config FILE`, `policies list|enable|disable`, `registries list`.
 *
 * `apply` validates the file as `serve` and `sync` do (an invalid config is refused with the
 * path of each error, and nothing is sent), then PUTs every registry, source and policy, in that
 * order so that references resolve. The API compares each with what it holds (secrets included,
 * which it never shows) and answers created, updated or unchanged; items the API holds that the
 * file does not declare are left alone. A second run reports everything unchanged.
 * `limits` and `api` are settings of the runtime, not records: apply does not send them.
 */

type Outcome = 'created' | 'updated' | 'unchanged';

interface WriteAnswer {
  outcome: Outcome;
  scan?: { id: string };
  cancelled?: { queued: number; running: number; pending?: true };
}

const WORDS: Record<Outcome, string> = { created: 'created', updated: 'changed', unchanged: 'unchanged' };

export async function runApply(options: ApplyOptions, io: CliIo): Promise<number> {
  let config: CrossdockConfig;
  try {
    config = await loadConfig(options.config, io.env);
  } catch (error) {
    io.stderr.write(`crossdock apply: ${describeError(error)}\n`);
    return 1;
  }
  // The file's own api.token is the natural token for the API it configures.
  const token = options.token ?? (io.env.CROSSDOCK_API_TOKEN || config.api.token);
  const connection = { ...options, ...(token === undefined ? {} : { token }) };
  return runApiCommand(io, 'apply', connection, async (client) => {
    const counts: Record<Outcome, number> = { created: 0, updated: 0, unchanged: 0 };
    let leftAlone = 0;
    const sections = [
      ['registry', 'registries', config.registries],
      ['source', 'sources', config.sources],
      ['policy', 'policies', config.policies],
    ] as const;
    for (const [kind, plural, items] of sections) {
      const existing = await client.call<Record<string, { name: string }[]>>('GET', `/api/${plural}`);
      for (const item of items as readonly (RegistryConfig | SourceConfig | PolicyConfig)[]) {
        let answer: WriteAnswer;
        try {
          answer = await client.call<WriteAnswer>('PUT', `/api/${plural}/${encodeURIComponent(item.name)}`, {
            body: item,
          });
        } catch (error) {
          throw new Error(`${kind} ${item.name}: ${describeError(error)}`);
        }
        counts[answer.outcome]++;
        const notes = [
          answer.scan ? `scan ${answer.scan.id} started` : '',
          answer.cancelled
            ? `${answer.cancelled.queued} queued jobs cancelled, ${answer.cancelled.running} running asked to stop` +
              (answer.cancelled.pending ? ', the rest in the background' : '')
            : '',
        ].filter(Boolean);
        io.stdout.write(
          `${kind} ${item.name}: ${WORDS[answer.outcome]}${notes.length ? ` (${notes.join('; ')})` : ''}\n`,
        );
      }
      const declared = new Set(items.map((item) => item.name));
      for (const held of existing[plural] ?? []) {
        if (declared.has(held.name)) continue;
        leftAlone++;
        io.stdout.write(`${kind} ${printable(held.name)}: not in the config, left alone\n`);
      }
    }
    io.stdout.write(
      `apply: ${counts.created} created, ${counts.updated} changed, ${counts.unchanged} unchanged` +
        `${leftAlone > 0 ? `; ${leftAlone} not in the config, left alone` : ''}\n`,
    );
    return 0;
  });
}

export function runPoliciesList(options: ListingOptions, io: CliIo): Promise<number> {
  return runApiCommand(io, 'policies list', options, async (client) => {
    const output = parseOutput(options.output ?? 'table');
    const { policies } = await client.call<{ policies: PolicyConfig[] }>('GET', '/api/policies');
    if (output === 'json') {
      io.stdout.write(`${JSON.stringify(policies, null, 2)}\n`);
      return 0;
    }
    if (policies.length === 0) {
      io.stdout.write('no policies\n');
      return 0;
    }
    const globs = (include: string[], exclude: string[]) =>
      [include.join(','), ...(exclude.length > 0 ? [`not ${exclude.join(',')}`] : [])].join(' ');
    io.stdout.write(
      renderTable(
        ['NAME', 'ENABLED', 'SOURCE', 'DESTINATION', 'REPOSITORIES', 'TAGS', 'DELETES', 'OVERRIDE'],
        policies.map((p) => [
          p.name,
          p.enabled ? 'yes' : 'no',
          `${p.source.registry}/${p.source.project}`,
          `${p.destination.registry}${p.destination.namespace ? `/${p.destination.namespace}` : ''}`,
          globs(p.filters.repositories, p.filters.excludeRepositories),
          globs(p.filters.tags, p.filters.excludeTags),
          p.replicateDeletes ? 'yes' : 'no',
          p.override ? 'yes' : 'no',
        ]),
      ),
    );
    return 0;
  });
}

export function runPolicyEnable(name: string, options: ApiConnectionOptions, io: CliIo): Promise<number> {
  return runApiCommand(io, 'policies enable', options, async (client) => {
    const answer = await client.call<WriteAnswer>('POST', `/api/policies/${encodeURIComponent(name)}/enable`);
    io.stdout.write(
      answer.outcome === 'unchanged'
        ? `policy ${name} is enabled already\n`
        : `policy ${name} enabled; replicating everything it covers in the background (scan ${answer.scan?.id})\n`,
    );
    return 0;
  });
}

export function runPolicyDisable(name: string, options: ApiConnectionOptions, io: CliIo): Promise<number> {
  return runApiCommand(io, 'policies disable', options, async (client) => {
    const answer = await client.call<WriteAnswer>(
      'POST',
      `/api/policies/${encodeURIComponent(name)}/disable`,
    );
    const { queued, running, pending } = answer.cancelled ?? { queued: 0, running: 0 };
    io.stdout.write(
      `policy ${name} ${answer.outcome === 'unchanged' ? 'was disabled already' : 'disabled'}: ` +
        `${queued} queued jobs cancelled, ${running} running jobs asked to stop` +
        `${pending ? '; the rest are being cancelled in the background (crossdock jobs --policy shows them)' : ''}\n`,
    );
    return 0;
  });
}

export function runRegistriesList(options: ListingOptions, io: CliIo): Promise<number> {
  return runApiCommand(io, 'registries list', options, async (client) => {
    const output = parseOutput(options.output ?? 'table');
    const { registries } = await client.call<{ registries: RegistryConfig[] }>('GET', '/api/registries');
    if (output === 'json') {
      io.stdout.write(`${JSON.stringify(registries, null, 2)}\n`);
      return 0;
    }
    if (registries.length === 0) {
      io.stdout.write('no registries\n');
      return 0;
    }
    io.stdout.write(
      renderTable(
        ['NAME', 'KIND', 'URL', 'USER', 'TLS', 'RATE LIMIT'],
        registries.map((r) => [
          r.name,
          r.kind,
          r.url,
          r.credentials?.username ?? '-',
          r.url.startsWith('http:')
            ? '-'
            : r.insecure
              ? 'insecure'
              : r.caFile
                ? `ca ${r.caFile}`
                : 'verified',
          r.rateLimit ? `${r.rateLimit.requestsPerSecond}/s` : '-',
        ]),
      ),
    );
    return 0;
  });
}
