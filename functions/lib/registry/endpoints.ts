import type { Credentials } from './auth.ts';
import { dockerConfigCredentials } from './docker-config.ts';
import { DOCKER_HUB_API_HOST, DOCKER_HUB_DOMAIN, isLoopbackHost } from './reference.ts';
import type { RegistryEndpoint } from './transport.ts';

/**
 * The endpoint for a registry named by host in a reference, as Docker reaches it: loopback
 * hosts over plain http, others over https (an insecure one without verification, falling
 * back to http). Credentials: the ones given, else Docker's config.json.
 */
export function endpointForDomain(
  domain: string,
  options: {
    credentials?: Credentials | undefined;
    insecure?: boolean;
    env?: NodeJS.ProcessEnv;
    readIdleTimeoutSeconds?: number;
  } = {},
): RegistryEndpoint {
  const host = domain === DOCKER_HUB_DOMAIN ? DOCKER_HUB_API_HOST : domain;
  const scheme = isLoopbackHost(domain) ? 'http' : 'https';
  const credentials = options.credentials ?? dockerConfigCredentials(domain, options.env);
  return {
    url: `${scheme}://${host}`,
    name: domain,
    ...(credentials ? { credentials } : {}),
    ...(options.insecure ? { insecure: true } : {}),
    ...(options.readIdleTimeoutSeconds === undefined
      ? {}
      : { readIdleTimeoutSeconds: options.readIdleTimeoutSeconds }),
  };
}
