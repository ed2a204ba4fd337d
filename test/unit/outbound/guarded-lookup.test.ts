import type dns from 'node:dns';
import { describe, expect, it } from 'vitest';
import { isPublicAddress } from '../../../src/outbound/address-class.ts';
import { guardedLookup, REFUSED_ADDRESS } from '../../../src/outbound/guarded-lookup.ts';

/** A resolver answering from a table, as dns.lookup with { all: true } does. */
function resolver(table: Record<string, string[]>): typeof dns.lookup {
  return ((host: string, _opts: unknown, cb: (err: NodeJS.ErrnoException | null, addresses: dns.LookupAddress[]) => void) => {
    const list = table[host];
    if (!list) return cb(Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' }), []);
    cb(null, list.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })));
  }) as unknown as typeof dns.lookup;
}

function lookup(host: string, all: boolean, table: Record<string, string[]>, allowed = isPublicAddress) {
  return new Promise<{ err: NodeJS.ErrnoException | null; address: unknown; family?: number }>((resolve) => {
    guardedLookup(allowed, resolver(table))(host, { all }, (err, address, family) => resolve({ err, address, family }));
  });
}

describe('guardedLookup', () => {
  const table = {
    'mixed.test': ['127.0.0.1', '93.184.216.34', '::1', '2606:4700::1'],
    'internal.test': ['10.0.0.7', 'fd00::7', '::ffff:169.254.169.254'],
  };

  it('hands the socket only permitted addresses (all and single forms)', async () => {
    expect(await lookup('mixed.test', true, table)).toMatchObject({
      err: null,
      address: [{ address: '93.184.216.34', family: 4 }, { address: '2606:4700::1', family: 6 }],
    });
    expect(await lookup('mixed.test', false, table)).toEqual({ err: null, address: '93.184.216.34', family: 4 });
  });

  it('fails with a permanent, recognisable error when nothing is left', async () => {
    const r = await lookup('internal.test', false, table);
    expect(r.err?.code).toBe(REFUSED_ADDRESS);
    expect(r.err?.message).toMatch(/internal\.test resolves to 10\.0\.0\.7, fd00::7, ::ffff:169\.254\.169\.254/);
  });

  it('admits a private address the caller names, and passes resolver errors through', async () => {
    expect(await lookup('internal.test', false, table, (a) => a === '10.0.0.7')).toEqual({ err: null, address: '10.0.0.7', family: 4 });
    expect((await lookup('nowhere.test', false, table)).err?.code).toBe('ENOTFOUND');
  });
});
