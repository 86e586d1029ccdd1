import { type CrossdockProcess, crossdockPort, startCrossdock } from './crossdock-process.ts';
import { startRegistry, type TestRegistry } from './registry-process.ts';
import {
  distributionSource,
  hookSecret,
  registryList,
  replicationPolicy,
  webhookOf,
} from './serve-config.ts';

/**
 * The setup most end-to-end tests share: registry A whose notifications call crossdock (source
 * `a`, header `Authorization: Bearer hook-a`), registry B, and `crossdock serve` with the
 * policy `a-to-b` replicating project `team` from A to B.
 */
export interface Mirror {
  a: TestRegistry;
  b: TestRegistry;
  crossdock: CrossdockProcess;
  stop(): Promise<void>;
}

export const HOOK_SECRET = hookSecret('a');

export interface MirrorOptions {
  /** Merged into the policy `a-to-b` (its name, `enabled`, `replicateDeletes`, …). */
  policy?: Record<string, unknown>;
  /** The project replicated; default `team`. */
  project?: string;
  /** False: no webhook source (the policy's scan makes the jobs). */
  webhook?: boolean;
  /** More registries (name → url) for more policies, which come after `a-to-b`. */
  registries?: Record<string, string>;
  policies?: Record<string, unknown>[];
  limits?: Record<string, unknown>;
}

/** The config of that setup, for registries at `a` and `b` (or proxies in front of them). */
export function mirrorConfig(a: string, b: string, options: MirrorOptions = {}): Record<string, unknown> {
  return {
    registries: registryList({ a, b, ...options.registries }),
    ...(options.webhook === false ? {} : { sources: [distributionSource('a')] }),
    policies: [
      replicationPolicy({ name: 'a-to-b', from: 'a', to: 'b', project: options.project, ...options.policy }),
      ...(options.policies ?? []),
    ],
    ...(options.limits ? { limits: options.limits } : {}),
  };
}

export async function startMirror(options: Omit<MirrorOptions, 'webhook'> = {}): Promise<Mirror> {
  const port = await crossdockPort();
  const [a, b] = await Promise.all([startRegistry({ notifications: webhookOf(port) }), startRegistry()]);
  const crossdock = await startCrossdock({ port, config: mirrorConfig(a.url, b.url, options) });
  return {
    a,
    b,
    crossdock,
    stop: async () => {
      await crossdock.stop();
      await Promise.all([a.stop(), b.stop()]);
    },
  };
}
