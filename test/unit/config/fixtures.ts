import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { ConfigError } from '#config/errors.ts';

/** The reference config (the design the project started from), verbatim: the user-facing contract. */
export const DESIGN_EXAMPLE_FILE = new URL('./design-example.yaml', import.meta.url).pathname;
export const DESIGN_EXAMPLE = readFileSync(DESIGN_EXAMPLE_FILE, 'utf8');

export const DESIGN_ENV = {
  HUB_A_USER: 'alice',
  HUB_A_PASSWORD: 'pa$$word',
  HUB_A_WEBHOOK_TOKEN: 'hook-token',
  CROSSDOCK_API_TOKEN: 'api-token',
};

/** A minimal valid config to which a test adds the part it is about. */
export const TWO_REGISTRIES = `
registries:
  - { name: hub-a, url: "http://127.0.0.1:5001" }
  - { name: dc-b, url: "http://127.0.0.1:5002" }
`;

/** The ConfigError that `action` throws, as `path: message` lines (position left out). */
export function issuesOf(action: () => unknown): string[] {
  return errorOf(action).issues.map((issue) => `${issue.path}: ${issue.message}`);
}

export function errorOf(action: () => unknown): ConfigError {
  try {
    action();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}
