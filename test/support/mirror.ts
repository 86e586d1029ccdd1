import { type CrossdockProcess, crossdockPort, startCrossdock } from './crossdock-process.ts';
import { startRegistry, type TestRegistry } from './registry-process.ts';

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

export const HOOK_SECRET = 'Bearer hook-a';

export interface MirrorOptions {
  /** Merged into the policy (its name, `enabled`, `replicateDeletes`, …). */
  policy?: Record<string, unknown>;
  limits?: Record<string, unknown>;
  /** The project replicated; default `team`. */
  project?: string;
  /** False: no webhook source (the policy's scan makes the jobs). */
  webhook?: boolean;
}

/** The config of that setup, for registries at `a` and `b` (or proxies in front of them). */
export function mirrorConfig(a: string, b: string, options: MirrorOptions = {}): Record<string, unknown> {
  return {
    registries: [
      { name: 'a', url: a },
      { name: 'b', url: b },
    ],
    ...(options.webhook === false
      ? {}
      : {
          sources: [
            {
              name: 'a',
              registry: 'a',
              format: 'distribution',
              auth: { header: 'Authorization', value: HOOK_SECRET },
            },
          ],
        }),
    policies: [
      {
        name: 'a-to-b',
        source: { registry: 'a', project: options.project ?? 'team' },
        destination: { registry: 'b' },
        ...options.policy,
      },
    ],
    ...(options.limits ? { limits: options.limits } : {}),
  };
}

/** Where A's notifications go for a crossdock on `port`. */
export const webhookOf = (port: number) => ({
  url: `http://127.0.0.1:${port}/webhooks/a`,
  headers: { Authorization: HOOK_SECRET },
});

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
