import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import type { CrossdockConfig } from '#config/schema.ts';
import { configSchema } from '#config/schema.ts';
import { writeDemoImage } from './image.ts';
import { type DemoRegistry, freePort, startDemoRegistry } from './registry.ts';
import { ensureDemoTools } from './tools.ts';

/**
 * `npm start` on a fresh clone: two local registries, `demo-a` whose notifications reach
 * crossdock and `demo-b`, one policy replicating project `demo` from a to b, and an image made
 * on the spot with the one command that pushes it, so a newcomer watches it replicate.
 */

export interface Demo {
  config: CrossdockConfig;
  /** Starts the registries once crossdock listens at `url`; answers what to tell the user. */
  attach(url: string): Promise<{ pushCommand: string; lines: string[] }>;
  stop(): Promise<void>;
}

export async function prepareDemo(options: { stateDir: string; log: (line: string) => void }): Promise<Demo> {
  ensureDemoTools(options.log);
  const [portA, portB] = [await freePort(), await freePort()];
  const token = randomBytes(16).toString('hex');
  const config = configSchema.parse({
    registries: [
      { name: 'demo-a', url: `http://127.0.0.1:${portA}` },
      { name: 'demo-b', url: `http://127.0.0.1:${portB}` },
    ],
    sources: [
      {
        name: 'demo-a',
        registry: 'demo-a',
        format: 'distribution',
        auth: { header: 'Authorization', value: `Bearer ${token}` },
      },
    ],
    policies: [
      {
        name: 'demo-a-to-b',
        source: { registry: 'demo-a', project: 'demo' },
        destination: { registry: 'demo-b' },
        replicateDeletes: true,
      },
    ],
  });
  const registries: DemoRegistry[] = [];
  // The CLI finds the API token in ./.crossdock; elsewhere it needs to be told where it is.
  const stateDirFlag = options.stateDir === resolve('.crossdock') ? '' : ` --state-dir ${options.stateDir}`;
  const dir = join(options.stateDir, 'demo');
  return {
    config,
    async attach(url) {
      registries.push(
        await startDemoRegistry({
          name: 'demo-a',
          port: portA,
          dir: join(dir, 'demo-a'),
          notify: { url: `${url}/webhooks/demo-a`, header: 'Authorization', value: `Bearer ${token}` },
        }),
        await startDemoRegistry({ name: 'demo-b', port: portB, dir: join(dir, 'demo-b') }),
      );
      const image = writeDemoImage(join(dir, 'image'), 'v1');
      const pushCommand = `skopeo copy --dest-tls-verify=false oci:${image.dir}:v1 docker://127.0.0.1:${portA}/demo/hello:v1`;
      return {
        pushCommand,
        lines: [
          `demo: registry demo-a at http://127.0.0.1:${portA} sends its events to ${url}/webhooks/demo-a`,
          `demo: registry demo-b at http://127.0.0.1:${portB}; policy demo-a-to-b copies project "demo" from a to b`,
          'demo: push the generated image to demo-a, in another terminal:',
          '',
          `  ${pushCommand}`,
          '',
          `demo: then watch it arrive: npx crossdock jobs --api ${url}${stateDirFlag}   (or: skopeo inspect --tls-verify=false docker://127.0.0.1:${portB}/demo/hello:v1)`,
        ],
      };
    },
    async stop() {
      await Promise.all(registries.splice(0).map((registry) => registry.stop()));
    },
  };
}
