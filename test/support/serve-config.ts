/**
 * Pieces of a `crossdock serve` config for end-to-end tests: registries by name, distribution
 * webhook sources and where their registries send notifications, and policies.
 */

/** The header value registry `source`'s notifications carry: `Bearer hook-<source>`. */
export const hookSecret = (source: string) => `Bearer hook-${source}`;

/** Where registry `source`'s notifications go for a crossdock on `port`, and the secret they carry. */
export const webhookOf = (port: number, source = 'a', secret = hookSecret(source)) => ({
  url: `http://127.0.0.1:${port}/webhooks/${source}`,
  headers: { Authorization: secret },
});

/** A distribution webhook source `name` (for registry `name` unless said), checked by `auth`. */
export const distributionSource = (
  name: string,
  {
    registry = name,
    auth = { header: 'Authorization', value: hookSecret(name) },
  }: { registry?: string; auth?: Record<string, string> } = {},
) => ({ name, registry, format: 'distribution', auth });

/** The config's registries, from name → url. */
export const registryList = (urls: Record<string, string>) =>
  Object.entries(urls).map(([name, url]) => ({ name, url }));

/** A policy replicating `project` (default `team`) from registry `from` to `to`; other settings as given. */
export const replicationPolicy = ({
  name,
  from,
  to,
  project = 'team',
  ...settings
}: {
  name: string;
  from: string;
  to: string;
  project?: string | undefined;
  [setting: string]: unknown;
}) => ({ name, source: { registry: from, project }, destination: { registry: to }, ...settings });
