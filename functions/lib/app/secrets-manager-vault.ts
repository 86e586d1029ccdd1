import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import {
  CreateSecretCommand,
  DeleteSecretCommand,
  PutSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import type { SecretVault } from './vaulted-config.ts';

/**
 * The vault of the deployed functions: Secrets Manager, read through Powertools Parameters
 * (cached five minutes per function instance; a write refreshes this instance's copy, others
 * see it within the five minutes).
 */
export function secretsManagerVault(client = new SecretsManagerClient({})): SecretVault {
  const provider = new SecretsProvider({ awsSdkV3Client: client });
  return {
    async read(name) {
      try {
        return (await provider.get(name, { maxAge: 300 })) as string | undefined;
      } catch (error) {
        if (
          error instanceof Error &&
          /ResourceNotFound/.test(`${error.name} ${(error.cause as Error)?.name}`)
        )
          return undefined;
        throw error;
      }
    },
    async write(name, value) {
      try {
        await client.send(new PutSecretValueCommand({ SecretId: name, SecretString: value }));
      } catch (error) {
        if (!(error instanceof ResourceNotFoundException)) throw error;
        await client.send(
          new CreateSecretCommand({
            Name: name,
            SecretString: value,
            Description: 'kept by crossdock (registry or webhook source)',
          }),
        );
      }
      await provider.get(name, { forceFetch: true, maxAge: 300 });
    },
    async remove(name) {
      try {
        // Without recovery: the name may be used again at once (a registry re-created).
        await client.send(new DeleteSecretCommand({ SecretId: name, ForceDeleteWithoutRecovery: true }));
      } catch (error) {
        if (!(error instanceof ResourceNotFoundException)) throw error;
      }
    },
  };
}
