import type { Crossdock } from './crossdock.ts';

/**
 * The process's one Crossdock. A Lambda builds it from its environment on first use; the local
 * runtime and the tests install theirs first with `useApp`, then call the same handler modules.
 */

let current: Crossdock | undefined;
let building: Promise<Crossdock> | undefined;

export function useApp(app: Crossdock | undefined): void {
  current = app;
  building = undefined;
}

export async function app(): Promise<Crossdock> {
  if (current) return current;
  building ??= import('./environment.ts').then(({ appFromEnvironment }) => {
    current = appFromEnvironment();
    return current;
  });
  return building;
}
