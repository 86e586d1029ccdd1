import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Credentials } from './auth.ts';
import { DOCKER_HUB_DOMAIN } from './reference.ts';

/**
 * Credentials from Docker's `config.json` (`$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`), the `auths` section as `docker login` writes it. Credential
 * helpers (`credsStore`, `credHelpers`) are not supported: they run external programs.
 */

interface DockerConfigFile {
  auths?: Record<string, { auth?: string; username?: string; password?: string; identitytoken?: string }>;
}

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
  const auths = config.auths ?? {};
  for (const key of keysFor(domain)) {
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

/** `USER:PASS` as skopeo's `--src-creds` takes it (the password may contain colons). */
export function parseCredentials(text: string): Credentials | undefined {
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}
