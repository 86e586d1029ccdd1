import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { request } from 'undici';
import { stringify } from 'yaml';

/** One `docker-registry` process for the demo, on 127.0.0.1, storing under the state folder. */

export interface DemoRegistry {
  name: string;
  url: string;
  host: string;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

export async function startDemoRegistry(options: {
  name: string;
  port: number;
  dir: string;
  /** Where its notifications go, with the header that proves the sender. */
  notify?: { url: string; header: string; value: string };
}): Promise<DemoRegistry> {
  mkdirSync(options.dir, { recursive: true });
  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: 'warn', formatter: 'text', accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: join(options.dir, 'storage') }, delete: { enabled: true } },
    http: { addr: `127.0.0.1:${options.port}`, secret: randomBytes(16).toString('hex') },
  };
  if (options.notify) {
    config.notifications = {
      endpoints: [
        {
          name: 'crossdock',
          url: options.notify.url,
          headers: { [options.notify.header]: [options.notify.value] },
          timeout: '2s',
          threshold: 5,
          backoff: '1s',
          // Pulls and blob uploads are not replication events: the registry need not send them.
          ignore: { mediatypes: ['application/octet-stream'], actions: ['pull'] },
        },
      ],
    };
  }
  const configFile = join(options.dir, 'config.yml');
  writeFileSync(configFile, stringify(config));
  const logFile = join(options.dir, 'registry.log');
  const child: ChildProcess = spawn('docker-registry', ['serve', configFile], {
    stdio: ['ignore', openSync(logFile, 'a'), openSync(logFile, 'a')],
  });
  const url = `http://127.0.0.1:${options.port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const response = await request(`${url}/v2/`);
      await response.body.dump();
      if (response.statusCode === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(
        `docker-registry ${options.name} did not start:\n${readFileSync(logFile, 'utf8').slice(-1500)}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    name: options.name,
    url,
    host: `127.0.0.1:${options.port}`,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
