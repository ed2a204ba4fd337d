/**
 * The global connection cap under a flood from many addresses (issue 8 item 6): when every slot is
 * taken, the oldest connection that has not sent a request head is closed to admit a newcomer, so
 * a real client still gets in; only when every slot carries a request is a newcomer refused.
 */
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultServerLimits } from '../../src/config.ts';
import { signedFetch, signedHeaders } from '../support/auth.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { until } from '../support/wait.ts';

const CAP = 40;
let srv: TestServer;
const sockets: net.Socket[] = [];
const port = () => Number(new URL(srv.url).port);
const stats = () => srv.server.edge!().connections;

beforeAll(async () => {
  // Header timeout long enough that nothing in this test is closed by it.
  srv = await startTestServer({ limits: defaultServerLimits({ maxConnections: CAP, maxConnectionsPerAddress: 1000, headersTimeoutMs: 60_000 }) });
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await srv?.close();
});

/** Opens a socket from `localAddress` that sends `head` (nothing if omitted); resolves when it closes. */
function open(localAddress: string, head?: string): { socket: net.Socket; closed: Promise<void> } {
  const socket = net.connect({ host: '127.0.0.1', port: port(), localAddress });
  socket.on('error', () => {});
  if (head !== undefined) socket.on('connect', () => socket.write(head));
  sockets.push(socket);
  return { socket, closed: new Promise((resolve) => socket.once('close', () => resolve())) };
}

describe('global connection cap', () => {
  it('closes the oldest socket without a request head to admit a real client, from any address', async () => {
    // Silent and half-sent heads from ten addresses fill every slot.
    const flood = Array.from({ length: CAP }, (_, i) => open(`127.0.0.${10 + (i % 10)}`, i % 2 ? `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${port()}\r\nX-Slow: ` : undefined));
    await until(() => stats().open === CAP, `${CAP} open connections`, 15_000);

    const res = await signedFetch(`${srv.url}/listStreams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(200);
    expect(stats().refusedGlobal).toBe(0);
    expect(stats().evictedAwaitingRequest).toBeGreaterThanOrEqual(1);
    // The one evicted first is the oldest of the flood.
    await flood[0]!.closed;
    expect(stats().open).toBeLessThanOrEqual(CAP);
    for (const f of flood) f.socket.destroy();
    // What stays is at most the client's kept-alive connection (it has had its request).
    await until(() => stats().awaitingRequest === 0 && stats().open <= 1, 'the flood closed', 15_000);
  });

  it('refuses a newcomer when every slot carries a request', async () => {
    // Signed requests whose head is complete but whose declared body never comes (the server is
    // still reading it to check the signature): not evictable.
    const body = Buffer.from(`{${' '.repeat(98)}}`);
    const signed = signedHeaders('POST', `${srv.url}/listStreams`, { 'content-type': 'application/json' }, body);
    const head = Object.entries(signed).map(([k, v]) => `${k}: ${v}\r\n`).join('');
    const busy = Array.from({ length: CAP - stats().open }, (_, i) =>
      open(`127.0.0.${30 + (i % 5)}`, `POST /listStreams HTTP/1.1\r\nHost: 127.0.0.1:${port()}\r\n${head}Content-Length: ${body.length}\r\n\r\n{`),
    );
    await until(() => stats().open === CAP && stats().awaitingRequest === 0, `${CAP} connections, each with a request`, 15_000);
    const evictedBefore = stats().evictedAwaitingRequest;
    const newcomer = open('127.0.0.40');
    await newcomer.closed;
    expect(stats().refusedGlobal).toBe(1);
    expect(stats().evictedAwaitingRequest).toBe(evictedBefore);
    expect(busy.every((b) => !b.socket.destroyed)).toBe(true);
  });
});
