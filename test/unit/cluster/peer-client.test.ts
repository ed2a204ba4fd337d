import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { deriveInternalKey, NODE_TOKEN_HEADER, nodeTokenProblem } from '../../../src/auth/node-token.ts';
import { HEADER_LENGTH_HEADER, pullFragment } from '../../../src/cluster/peer-client.ts';
import { KvsError } from '../../../src/shared/errors.ts';

const key = deriveInternalKey(Buffer.alloc(32, 9));
const servers: http.Server[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r));
});

async function peer(handler: http.RequestListener): Promise<string> {
  const server = http.createServer(handler);
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const options = { internalKey: key, timeoutMs: 2_000, maxBytes: 1000, now: Date.now };
const kvsName = (name: string, pattern: RegExp) => (e: unknown) => e instanceof KvsError && e.kvsName === name && pattern.test(e.message);

describe('pullFragment', () => {
  it('sends a valid node token and splits header from body', async () => {
    let problem: string | undefined = 'not called';
    const baseUrl = await peer((req, res) => {
      problem = nodeTokenProblem(key, 'GET', req.url!, req.headers[NODE_TOKEN_HEADER] as string, Date.now());
      res.writeHead(200, { [HEADER_LENGTH_HEADER]: '3', 'content-length': '8' }).end('HDRbody!');
    });
    const got = await pullFragment({ nodeId: 'a', baseUrl }, 4, '123', options);
    expect(problem).toBeUndefined();
    expect(got.header.toString()).toBe('HDR');
    expect(got.body.toString()).toBe('body!');
  });

  it('refuses an answer over the size bound or without a declared length', async () => {
    const big = await peer((_req, res) => res.writeHead(200, { [HEADER_LENGTH_HEADER]: '0', 'content-length': '2000' }).end(Buffer.alloc(2000)));
    await expect(pullFragment({ nodeId: 'a', baseUrl: big }, 4, '123', options)).rejects.toSatisfy(kvsName('InternalFailure', /oversized/));
    const chunked = await peer((_req, res) => {
      res.writeHead(200, { [HEADER_LENGTH_HEADER]: '0' });
      res.write('x');
      res.end('y');
    });
    await expect(pullFragment({ nodeId: 'a', baseUrl: chunked }, 4, '123', options)).rejects.toSatisfy(kvsName('InternalFailure', /bad or oversized/));
  });

  it('maps a missing fragment, a refusal and an unreachable node to KVS errors naming the node', async () => {
    const missing = await peer((_req, res) => res.writeHead(404).end());
    await expect(pullFragment({ nodeId: 'node-x', baseUrl: missing }, 4, '123', options)).rejects.toSatisfy(kvsName('ResourceNotFoundException', /node-x/));
    const refusing = await peer((_req, res) => res.writeHead(403).end());
    await expect(pullFragment({ nodeId: 'node-x', baseUrl: refusing }, 4, '123', options)).rejects.toSatisfy(kvsName('InternalFailure', /node-x .*HTTP 403/));
    const gone = await peer(() => undefined);
    const url = gone;
    await new Promise((r) => servers.pop()!.close(r));
    await expect(pullFragment({ nodeId: 'node-x', baseUrl: url }, 4, '123', options)).rejects.toSatisfy(kvsName('InternalFailure', /node-x .*did not answer/));
  });

  it('gives up on a peer that does not answer within the timeout', async () => {
    const silent = await peer(() => undefined); // never responds
    await expect(pullFragment({ nodeId: 'slow', baseUrl: silent }, 4, '123', { ...options, timeoutMs: 100 })).rejects.toSatisfy(kvsName('InternalFailure', /slow .*did not answer/));
  });
});
