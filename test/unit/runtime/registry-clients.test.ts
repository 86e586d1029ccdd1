import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CaCertificatesMissingError,
  RegistryClientCache,
  type StoredRegistry,
} from '../../../functions/lib/runtime/registry-clients.ts';

describe('registry clients by name', () => {
  it('never reads a caFile when a request needs a client: only loaded caCertificates are trusted', async () => {
    // Arrange: a record that names a file but came in without its certificates (the API)
    const directory = await mkdtemp(join(tmpdir(), 'crossdock-ca-'));
    const caFile = join(directory, 'secrets.env');
    await writeFile(caFile, 'DATABASE_PASSWORD=hunter2\n');
    const stored: StoredRegistry = {
      name: 'a',
      url: 'https://a.example',
      kind: 'distribution',
      insecure: false,
      caFile,
    };
    const clients = new RegistryClientCache({ registry: async () => stored });

    try {
      // Act
      const failure = await clients.client('a').then(
        () => undefined,
        (error: unknown) => error,
      );

      // Assert
      expect(failure).toBeInstanceOf(CaCertificatesMissingError);
      expect((failure as Error).message).toContain(
        'registry "a" names caFile but its certificates were not loaded',
      );
      expect((failure as Error).message).not.toContain('hunter2');
    } finally {
      await clients.close();
    }
  });
});
