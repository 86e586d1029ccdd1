import { afterAll, beforeAll } from 'vitest';
import { RegistryClient } from '#registry/client.ts';
import { startRegistry, type TestRegistry } from './registry-process.ts';

/**
 * A source and a destination registry, fresh and plain, each with crossdock's client: what the
 * integration tests of one replication step (copy a blob, push a manifest) start from.
 */
export interface RegistryPair {
  source: TestRegistry;
  destination: TestRegistry;
  sourceClient: RegistryClient;
  destinationClient: RegistryClient;
  /** Closes the clients and stops both registries. */
  stop(): Promise<void>;
}

export async function startRegistryPair(): Promise<RegistryPair> {
  const [source, destination] = await Promise.all([startRegistry(), startRegistry()]);
  const sourceClient = new RegistryClient({ url: source.url });
  const destinationClient = new RegistryClient({ url: destination.url });
  return {
    source,
    destination,
    sourceClient,
    destinationClient,
    stop: async () => {
      await Promise.all([sourceClient.close(), destinationClient.close()]);
      await Promise.all([source.stop(), destination.stop()]);
    },
  };
}

/**
 * The pair for the enclosing `describe`: started before its tests (before the suite's own
 * `beforeAll`, which may push images to it), stopped after them. Its fields are set once that
 * `beforeAll` has run.
 */
export function registryPairForSuite(): RegistryPair {
  const pair = {} as RegistryPair;
  beforeAll(async () => {
    Object.assign(pair, await startRegistryPair());
  });
  afterAll(() => pair.stop?.());
  return pair;
}
