/**
 * Outbound.send against real sockets on loopback: what an API-set call may reach, what an
 * operator-set one may, and that connect and total timeouts end every call.
 */
import type dns from 'node:dns';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Outbound } from '../../src/outbound/outbound.ts';
import { TrapServer } from '../support/trap-server.ts';

let trap: TrapServer;
let hang: TrapServer;

/** Resolves every name to `address` (a rebinding DNS server would do the same on its second answer). */
const resolveTo = (address: string) =>
  ((_h: string, _o: unknown, cb: (e: null, a: dns.LookupAddress[]) => void) => cb(null, [{ address, family: 4 }])) as unknown as typeof dns.lookup;
const neverResolves = (() => undefined) as unknown as typeof dns.lookup;

beforeAll(async () => {
  trap = await new TrapServer().start();
  hang = await new TrapServer({ kind: 'hang' }).start();
});
afterAll(async () => {
  await trap.stop();
  await hang.stop();
});

describe('Outbound.send', () => {
  it('api trust: no pattern → refused before any connection; operator trust reaches the same URL', async () => {
    const out = new Outbound({});
    expect(await out.send('api', { url: trap.url('/x'), body: '{}' })).toMatchObject({ ok: false, outcome: 'refused_pattern', permanent: true });
    expect(trap.connections).toBe(0);
    expect(await out.send('operator', { url: trap.url('/x'), body: '{}' })).toEqual({ ok: true, status: 204 });
    expect(trap.requests.at(-1)).toMatchObject({ method: 'POST', url: '/x', body: '{}' });
    expect(out.stats()).toMatchObject({ ok: 1, refused_pattern: 1 });
  });

  it('api trust: a name resolving to loopback is refused at connect; the same address named in a pattern is allowed', async () => {
    const before = trap.connections;
    const byName = new Outbound({ allowDestinations: [`http://rebind.test:${trap.port}/*`], resolve: resolveTo('127.0.0.1') });
    expect(await byName.send('api', { url: `http://rebind.test:${trap.port}/x`, body: '{}' })).toMatchObject({ ok: false, outcome: 'refused_address', permanent: true });
    const wildcard = new Outbound({ allowDestinations: ['http://*:*/*'] });
    expect(await wildcard.send('api', { url: trap.url('/x'), body: '{}' })).toMatchObject({ ok: false, outcome: 'refused_address' });
    expect(await wildcard.send('api', { url: `http://[::ffff:127.0.0.1]:${trap.port}/x`, body: '{}' })).toMatchObject({ ok: false, outcome: 'refused_address' });
    expect(trap.connections).toBe(before);
    const named = new Outbound({ allowDestinations: [`http://127.0.0.1:${trap.port}/*`] });
    expect(await named.send('api', { url: trap.url('/x'), body: '{}' })).toEqual({ ok: true, status: 204 });
    expect(trap.connections).toBe(before + 1);
  });

  it('a total timeout ends a call that connected but never gets an answer', async () => {
    const out = new Outbound({ timeoutMs: 200 });
    const started = Date.now();
    expect(await out.send('operator', { url: hang.url('/x'), body: '{}' })).toMatchObject({ ok: false, outcome: 'timeout', error: 'no response within 200 ms', permanent: false });
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(hang.requests).toHaveLength(1);
  });

  it('a connect timeout ends a call whose connection never completes', async () => {
    const out = new Outbound({ allowDestinations: ['http://stuck.test/*'], connectTimeoutMs: 150, timeoutMs: 10_000, resolve: neverResolves });
    const started = Date.now();
    expect(await out.send('api', { url: 'http://stuck.test/x', body: '{}' })).toMatchObject({ ok: false, outcome: 'timeout', error: 'connect timed out after 150 ms' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(out.stats().timeout).toBe(1);
  });
});
