import { BlockList, isIP } from 'node:net';

/**
 * Addresses a registry URL, a redirect or a token realm must not lead to without an explicit
 * allowance (a registry's `allowLinkLocal: true`): link-local networks, where clouds serve
 * instance metadata and its credentials, and the metadata endpoints' own names and addresses.
 * Shared by the config (refused at validation) and the registry client (refused at request time).
 */

const LINK_LOCAL = new BlockList();
LINK_LOCAL.addSubnet('169.254.0.0', 16, 'ipv4');
LINK_LOCAL.addSubnet('fe80::', 10, 'ipv6');

const METADATA_ADDRESSES = new BlockList();
METADATA_ADDRESSES.addAddress('100.100.100.200', 'ipv4'); // Alibaba Cloud
METADATA_ADDRESSES.addAddress('fd00:ec2::254', 'ipv6'); // AWS over IPv6

const METADATA_HOST_NAMES = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

/** `[fe80::1]` → `fe80::1`, `Metadata.Google.Internal.` → `metadata.google.internal`. */
function bareHost(host: string): string {
  const unbracketed = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return unbracketed.toLowerCase().replace(/\.$/, '');
}

/**
 * Why `host` (a URL's hostname, or an address a name resolved to) is link-local or a cloud
 * metadata endpoint; undefined when it is neither. IPv4-mapped IPv6 forms count as their IPv4.
 */
export function linkLocalReason(host: string): string | undefined {
  const bare = bareHost(host);
  const family = isIP(bare);
  if (family === 0) {
    return METADATA_HOST_NAMES.has(bare) ? `${bare} is a cloud metadata host name` : undefined;
  }
  const type = family === 4 ? 'ipv4' : 'ipv6';
  if (METADATA_ADDRESSES.check(bare, type)) return `${bare} is a cloud metadata address`;
  if (LINK_LOCAL.check(bare, type)) return `${bare} is a link-local address (where cloud metadata lives)`;
  return undefined;
}
