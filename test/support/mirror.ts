import { type CrossdockProcess, crossdockPort, startCrossdock } from './crossdock-process.ts';
import type { FaultProxy } from './fault-proxy.ts';
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
  /** The bearer token the API then requires. */
  apiToken?: string;
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
    ...(options.apiToken ? { api: { token: options.apiToken } } : {}),
  };
}

export interface StartMirrorOptions extends MirrorOptions {
  /** False: A sends no notifications although its source is there (the test posts them, as A). */
  notifications?: boolean;
  /** A proxy to start in front of A or B: crossdock reaches that registry through it. */
  proxy?: { a?: (a: TestRegistry) => Promise<FaultProxy>; b?: (b: TestRegistry) => Promise<FaultProxy> };
}

export async function startMirror(options: StartMirrorOptions = {}): Promise<Mirror> {
  const port = await crossdockPort();
  const notifies = options.webhook !== false && options.notifications !== false;
  const [a, b] = await Promise.all([
    startRegistry(notifies ? { notifications: webhookOf(port) } : {}),
    startRegistry(),
  ]);
  const [toA, toB] = await Promise.all([options.proxy?.a?.(a), options.proxy?.b?.(b)]);
  const stopRegistriesAndProxies = async () => {
    await Promise.all([toA?.stop(), toB?.stop()]);
    await Promise.all([a.stop(), b.stop()]);
  };
  let crossdock: CrossdockProcess;
  try {
    crossdock = await startCrossdock({
      port,
      config: mirrorConfig(toA?.url ?? a.url, toB?.url ?? b.url, options),
    });
  } catch (error) {
    await stopRegistriesAndProxies();
    throw error;
  }
  return {
    a,
    b,
    crossdock,
    stop: async () => {
      await crossdock.stop();
      await stopRegistriesAndProxies();
    },
  };
}
