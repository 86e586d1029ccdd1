import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { selfSignedCertificate } from '../support/certificates.ts';
import { runCli } from '../support/cli.ts';
import { type CrossdockProcess, startCrossdock } from '../support/crossdock-process.ts';
import { freePort } from '../support/ports.ts';
import { scratchDir } from '../support/tools.ts';

/**
 * `serve --host ADDRESS` for registries on other machines. Off loopback the API token goes over
 * the network, so serve wants TLS (`--tls-cert`/`--tls-key`) or an explicit `--insecure-http`.
 * This machine's network is 127.0.0.1 only: serve binds 0.0.0.0 and the tests connect via
 * 127.0.0.1.
 */
describe('serve --host', () => {
  let crossdock: CrossdockProcess | undefined;
  afterEach(async () => {
    await crossdock?.stop();
    crossdock = undefined;
  });

  const serveArgs = async (...more: string[]) => {
    const dir = mkdtempSync(join(scratchDir(), 'crossdock-host-'));
    const config = join(dir, 'crossdock.yaml');
    writeFileSync(config, '{}\n');
    const port = await freePort();
    return ['serve', '--config', config, '--port', String(port), '--state-dir', join(dir, 'state'), ...more];
  };

  it('refuses an address off loopback without TLS or --insecure-http, naming the flags', async () => {
    const result = await runCli(await serveArgs('--host', '0.0.0.0'), { timeoutMs: 30_000 });

    expect(result.code).toBe(1);
    const message = result.stderr.trim();
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toContain('0.0.0.0');
    expect(message).toContain('--tls-cert');
    expect(message).toContain('--tls-key');
    expect(message).toContain('--insecure-http');
  });

  it('refuses a certificate without its key, naming both flags', async () => {
    const result = await runCli(await serveArgs('--tls-cert', '/nonexistent/cert.pem'), {
      timeoutMs: 30_000,
    });

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/--tls-cert.*--tls-key|--tls-key.*--tls-cert/);
  });

  it('answers over HTTPS on 0.0.0.0 with --tls-cert/--tls-key, the API with its token only', async () => {
    const certs = selfSignedCertificate(
      mkdtempSync(join(scratchDir(), 'crossdock-tls-')),
      '127.0.0.1',
      '127.0.0.1',
    );
    const ca = readFileSync(certs.certFile, 'utf8');
    crossdock = await startCrossdock({
      config: {},
      args: ['--host', '0.0.0.0', '--tls-cert', certs.certFile, '--tls-key', certs.keyFile],
      https: { ca },
    });
    const agent = new Agent({ connect: { ca } });
    const get = async (path: string, headers: Record<string, string> = {}) => {
      const response = await request(`${crossdock?.url}${path}`, { dispatcher: agent, headers });
      await response.body.dump();
      return response.statusCode;
    };

    const answers = [
      await get('/health'),
      await get('/api/jobs'),
      await get('/api/jobs', { authorization: `Bearer ${crossdock.token}` }),
    ];
    await agent.close();

    expect(crossdock.url).toMatch(/^https:/);
    expect(answers).toEqual([200, 401, 200]);
    expect(crossdock.logs()).toMatch(/0\.0\.0\.0.*HTTPS|HTTPS.*0\.0\.0\.0/);
  });

  it('serves plain HTTP off loopback only with --insecure-http, and says so at start', async () => {
    crossdock = await startCrossdock({ config: {}, args: ['--host', '0.0.0.0', '--insecure-http'] });

    const response = await request(`${crossdock.url}/api/jobs`);
    await response.body.dump();

    expect(response.statusCode).toBe(401);
    expect(crossdock.logs()).toMatch(/plain HTTP/i);
  });
});
