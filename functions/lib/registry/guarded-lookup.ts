import { type LookupAddress, type LookupOptions, lookup } from 'node:dns';
import { linkLocalReason } from '#net/link-local.ts';

/**
 * A `dns.lookup` for sockets that refuses names resolving to link-local or cloud metadata
 * addresses: a registry, redirect or realm named by a host name cannot reach them by DNS
 * either. Checked at connect time on the addresses actually used, so a name that resolves
 * differently later is caught too. Literal addresses never get here (the URL check covers them).
 */

/** The `code` of the error a refused lookup fails with; the transport turns it into LinkLocalRefusedError. */
export const LINK_LOCAL_REFUSED = 'ERR_CROSSDOCK_LINK_LOCAL';

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

export function guardedLookup(hostname: string, options: LookupOptions, callback: LookupCallback): void {
  lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) {
      callback(error, []);
      return;
    }
    for (const { address } of addresses) {
      const reason = linkLocalReason(address);
      if (reason !== undefined) {
        const refused: NodeJS.ErrnoException = new Error(`${hostname} resolves to ${address}: ${reason}`);
        refused.code = LINK_LOCAL_REFUSED;
        callback(refused, []);
        return;
      }
    }
    if (options.all) callback(null, addresses);
    else {
      const first = addresses[0] as LookupAddress;
      callback(null, first.address, first.family);
    }
  });
}
