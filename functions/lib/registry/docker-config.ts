import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Credentials } from './auth.ts';
import { DOCKER_HUB_DOMAIN } from './reference.ts';

/**
 * Credentials from Docker's `config.json` (`$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`) as `docker login` leaves them: in a credential helper when the file
 * names one for the registry (`credHelpers`) or for all (`credsStore`, as Docker Desktop sets
 * it), else in the `auths` section.
 */

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
}

/** A helper is the program `docker-credential-<name>` on the PATH: a name, never a path. */
const HELPER_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** A helper may ask the desktop's keychain, which may ask the user. */
const HELPER_TIMEOUT_MS = 30_000;

export function dockerConfigPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.DOCKER_CONFIG ?? join(homedir(), '.docker'), 'config.json');
}

/** The keys `docker login` may have used for a registry host. */
function keysFor(domain: string): string[] {
  if (domain === DOCKER_HUB_DOMAIN) {
    return ['https://index.docker.io/v1/', 'index.docker.io', 'docker.io', 'registry-1.docker.io'];
  }
  return [domain, `https://${domain}`, `http://${domain}`, `https://${domain}/v1/`, `https://${domain}/v2/`];
}

/** Credentials for `domain` from Docker's config, or undefined (no file, no entry, unreadable entry). */
export function dockerConfigCredentials(
  domain: string,
  env: NodeJS.ProcessEnv = process.env,
): Credentials | undefined {
  let config: DockerConfigFile;
  try {
    config = JSON.parse(readFileSync(dockerConfigPath(env), 'utf8')) as DockerConfigFile;
  } catch {
    return undefined;
  }
  const keys = keysFor(domain);
  const helper = keys.map((key) => config.credHelpers?.[key]).find(Boolean) ?? config.credsStore;
  if (helper) {
    const fromHelper = helperCredentials(helper, keys.slice(0, 2), env);
    if (fromHelper) return fromHelper;
  }
  const auths = config.auths ?? {};
  for (const key of keys) {
    const entry = auths[key];
    if (!entry) continue;
    if (entry.username && entry.password) return { username: entry.username, password: entry.password };
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0) return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
  }
  return undefined;
}

/**
 * Asks `docker-credential-<helper> get` for each server address in turn, as Docker stores them
 * (`docker login HOST` keeps HOST). Undefined when the helper cannot be run, knows none of them,
 * or holds an identity token (Username `<token>`: an OAuth refresh token, not supported) — the
 * request then goes without credentials, and a registry that wants some says so.
 */
function helperCredentials(
  helper: string,
  servers: string[],
  env: NodeJS.ProcessEnv,
): Credentials | undefined {
  if (!HELPER_NAME.test(helper)) return undefined;
  for (const server of servers) {
    const answer = spawnSync(`docker-credential-${helper}`, ['get'], {
      input: server,
      env,
      encoding: 'utf8',
      timeout: HELPER_TIMEOUT_MS,
    });
    if (answer.error || answer.status !== 0) {
      // Not found is the helper's ordinary answer for another address; a missing helper is final.
      if ((answer.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') return undefined;
      continue;
    }
    try {
      const { Username, Secret } = JSON.parse(answer.stdout) as { Username?: unknown; Secret?: unknown };
      if (
        typeof Username === 'string' &&
        Username !== '' &&
        Username !== '<token>' &&
        typeof Secret === 'string'
      )
        return { username: Username, password: Secret };
    } catch {
      // Not JSON: as if the helper had nothing.
    }
  }
  return undefined;
}

/** `USER:PASS` as skopeo's `--src-creds` takes it (the password may contain colons). */
export function parseCredentials(text: string): Credentials | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}
