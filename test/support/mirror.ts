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

export async function startMirror(
  options: { policy?: Record<string, unknown>; limits?: Record<string, unknown> } = {},
): Promise<Mirror> {
  const port = await crossdockPort();
  const notifications = {
    url: `http://127.0.0.1:${port}/webhooks/a`,
    headers: { Authorization: HOOK_SECRET },
  };
  const [a, b] = await Promise.all([startRegistry({ notifications }), startRegistry()]);
  const crossdock = await startCrossdock({
    port,
    config: {
      registries: [
        { name: 'a', url: a.url },
        { name: 'b', url: b.url },
      ],
      sources: [
        {
          name: 'a',
          registry: 'a',
          format: 'distribution',
          auth: { header: 'Authorization', value: HOOK_SECRET },
        },
      ],
      policies: [
        {
          name: 'a-to-b',
          source: { registry: 'a', project: 'team' },
          destination: { registry: 'b' },
          ...options.policy,
        },
      ],
      ...(options.limits ? { limits: options.limits } : {}),
    },
  });
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
