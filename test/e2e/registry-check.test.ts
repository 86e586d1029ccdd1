import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CrossdockProcess, startCrossdock } from '../support/crossdock-process.ts';
import { freePort } from '../support/ports.ts';
import { startRegistry, type TestRegistry } from '../support/registry-process.ts';
import { startTokenService, type TokenService } from '../support/token-service.ts';

/**
 * At start, `serve` asks each configured registry for `/v2/` with its credentials and says in
 * one line each whether it answers and takes them: a wrong password or a registry that is not
 * there shows before the first job fails on it, and the runtime serves on either way.
 */
describe('the registry check serve makes at start', () => {
  let tokens: TokenService;
  let open: TestRegistry;
  let basic: TestRegistry;
  let token: TestRegistry;
  let crossdock: CrossdockProcess;
  let gone: string;
  // Takes connections and never answers: its check waits until serve gives up on it.
  let silent: Server;
  let silentUrl: string;
  const silentSockets = new Set<Socket>();
  let silentAccepted = 0;

  beforeAll(async () => {
    tokens = await startTokenService({ alice: 'alice-secret' });
    [open, basic, token] = await Promise.all([
      startRegistry(),
      startRegistry({ auth: { kind: 'basic', username: 'bob', password: 'bob-secret' } }),
      startRegistry({ auth: { kind: 'token', tokenService: tokens } }),
    ]);
    gone = `http://127.0.0.1:${await freePort()}`;
    silent = createServer((socket) => {
      silentAccepted++;
      silentSockets.add(socket);
      socket.on('close', () => silentSockets.delete(socket));
    });
    await new Promise<void>((listening) => silent.listen(0, '127.0.0.1', listening));
    silentUrl = `http://127.0.0.1:${(silent.address() as { port: number }).port}`;
    crossdock = await startCrossdock({
      config: {
        registries: [
          { name: 'open', url: open.url },
          { name: 'basic-ok', url: basic.url, credentials: { username: 'bob', password: 'bob-secret' } },
          { name: 'basic-wrong', url: basic.url, credentials: { username: 'bob', password: 'not-bobs-1' } },
          { name: 'token-ok', url: token.url, credentials: { username: 'alice', password: 'alice-secret' } },
          {
            name: 'token-wrong',
            url: token.url,
            credentials: { username: 'alice', password: 'not-alices-2' },
          },
          { name: 'gone', url: gone },
          { name: 'silent', url: silentUrl },
        ],
      },
    });
  });
  afterAll(async () => {
    if (crossdock?.pid() !== undefined) await crossdock.stop();
    for (const socket of silentSockets) socket.destroy();
    await new Promise((closed) => silent?.close(closed));
    await Promise.all([open, basic, token].map((registry) => registry?.stop()));
    await tokens?.stop();
  });

  const lineOf = async (name: string) => {
    await expect
      .poll(() => crossdock.messages().includes(`registry ${name} (`), { timeout: 30_000, interval: 100 })
      .toBe(true);
    return crossdock
      .messages()
      .split('\n')
      .find((line) => line.includes(`registry ${name} (`)) as string;
  };

  it('says a registry answers, and takes its credentials when it has some (Basic, or a token service)', async () => {
    const openLine = await lineOf('open');
    // Each line comes when its registry answers: the silent one holds back none of them.
    expect(crossdock.messages()).not.toContain('registry silent (');
    expect(openLine).toBe(`crossdock: registry open (${open.url}) answers (no credentials given)`);
    expect(await lineOf('basic-ok')).toBe(
      `crossdock: registry basic-ok (${basic.url}) answers and takes its credentials`,
    );
    expect(await lineOf('token-ok')).toBe(
      `crossdock: registry token-ok (${token.url}) answers and takes its credentials`,
    );
  });

  it('says which registry refused its credentials, and which one is not there, and serves on', async () => {
    expect(await lineOf('basic-wrong')).toMatch(
      /registry basic-wrong \(.*\) failed its check at start: registry basic-wrong refused user "bob" for the API check \(GET \/v2\/\)/,
    );
    expect(await lineOf('token-wrong')).toMatch(
      /registry token-wrong \(.*\) failed its check at start: .*token service refused the credentials of user "alice"/,
    );
    expect(await lineOf('gone')).toMatch(
      /registry gone \(.*\) failed its check at start: .*(ECONNREFUSED|unreachable|refused)/i,
    );

    expect((await crossdock.api('GET', '/health')).status).toBe(200);
    // The passwords go to their registries only: never into what serve says.
    expect(crossdock.messages() + crossdock.logs()).not.toMatch(
      /bob-secret|alice-secret|not-bobs-1|not-alices-2/,
    );
  });

  it('abandons a check still waiting when it stops, and says nothing of it', async () => {
    const accepted = silentAccepted;
    const alone = await startCrossdock({ config: { registries: [{ name: 'silent', url: silentUrl }] } });
    try {
      await expect.poll(() => silentAccepted, { timeout: 10_000 }).toBeGreaterThan(accepted); // under way
    } finally {
      await alone.stop();
    }

    expect(alone.messages()).toContain('crossdock: stopping');
    expect(alone.messages()).not.toContain('registry silent (');
  });

  it('checks at the next start a registry added through the API too, not only those of the config file', async () => {
    const alone = await startCrossdock({ config: { registries: [{ name: 'open', url: open.url }] } });
    try {
      await expect.poll(() => alone.messages(), { timeout: 15_000 }).toContain('registry open (');
      const created = await alone.api('POST', '/api/registries', {
        name: 'added',
        url: basic.url,
        credentials: { username: 'bob', password: 'bob-secret' },
      });
      expect(created.status).toBe(201);

      await alone.stop();
      await alone.restart();

      await expect
        .poll(() => alone.messages(), { timeout: 15_000 })
        .toContain(`crossdock: registry added (${basic.url}) answers and takes its credentials`);
    } finally {
      await alone.stop();
    }
  });
});
