/**
 * A `lookup` for sockets (http.request, http(s).Agent, net.connect) that drops resolved addresses the
 * destination may not reach. The check runs on the addresses the socket then connects to, so a name
 * that resolves differently on a second query (DNS rebinding) cannot slip a private address through.
 */
import dns from 'node:dns';
import type { LookupFunction } from 'node:net';

/** `code` of the error a refused connection fails with (permanent: never retried). */
export const REFUSED_ADDRESS = 'EKESTRELREFUSEDADDRESS';

export class RefusedAddressError extends Error {
  readonly code = REFUSED_ADDRESS;
}

type LookupAddress = { address: string; family: number };

export function guardedLookup(allowed: (address: string) => boolean, resolve: typeof dns.lookup = dns.lookup): LookupFunction {
  return ((hostname: string, options: dns.LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
    resolve(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, '');
      const ok = addresses.filter((a) => allowed(a.address));
      if (ok.length === 0) {
        const list = addresses.map((a) => a.address).join(', ');
        return callback(new RefusedAddressError(`${hostname} resolves to ${list}: not a public address and no allowed destination pattern names it`), '');
      }
      if (options.all) callback(null, ok);
      else callback(null, ok[0]!.address, ok[0]!.family);
    });
  }) as LookupFunction;
}
