/**
 * Benchmark child: the bare Node HTTP baselines Kestrel is compared with, doing the least work
 * that the same client measure allows. Prints {"url","pid"} when listening.
 *
 *   POST /sink   counts request bytes; answers {"bytes":N} when the body ends.
 *   POST /fsync  x-bench-stream, x-bench-header-bytes, x-bench-fragment-bytes: the first
 *                header-bytes are written to a file, then every fragment-bytes are appended
 *                (writev + fdatasync, one at a time, like Kestrel's segment store) and answered
 *                with a PERSISTED line as soon as durable; published to /tail readers of the stream.
 *   POST /tail   x-bench-stream: streams the fragment bytes of that stream as they are persisted.
 */
import fsp from 'node:fs/promises';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

const dataDir = process.argv[2];
if (!dataDir) throw new Error('usage: baseline-child.ts <dataDir>');
await fsp.mkdir(dataDir, { recursive: true });

const tails = new Map<string, Set<http.ServerResponse>>();
let files = 0;

const server = http.createServer({ requestTimeout: 0, keepAliveTimeout: 65_000 }, (req, res) => {
  if (req.method === 'POST' && req.url === '/sink') return sink(req, res);
  if (req.method === 'POST' && req.url === '/fsync') return void fsyncIngest(req, res);
  if (req.method === 'POST' && req.url === '/tail') return tail(req, res);
  res.writeHead(404).end();
});

function sink(req: http.IncomingMessage, res: http.ServerResponse): void {
  let bytes = 0;
  req.on('data', (c: Buffer) => {
    bytes += c.length;
  });
  req.on('end', () => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ bytes })));
}

async function fsyncIngest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const stream = String(req.headers['x-bench-stream'] ?? 'default');
  const headerBytes = Number(req.headers['x-bench-header-bytes'] ?? 0);
  const fragmentBytes = Number(req.headers['x-bench-fragment-bytes']);
  if (!(fragmentBytes > 0)) return void res.writeHead(400).end('x-bench-fragment-bytes required');
  const handle = await fsp.open(path.join(dataDir!, `${stream}-${++files}.bin`), 'w');
  res.writeHead(200, { 'content-type': 'application/json' });
  res.flushHeaders();
  res.socket?.setNoDelay(true);

  let position = 0;
  let index = -1; // -1: the header unit
  let parts: Buffer[] = [];
  let have = 0;
  let queue: Promise<void> = Promise.resolve();
  let queued = 0;

  const store = (unit: Buffer[], n: number) => {
    const length = unit.reduce((s, b) => s + b.length, 0);
    const offset = position;
    position += length;
    queued++;
    if (queued >= 4) req.pause();
    queue = queue.then(async () => {
      await handle.writev(unit, offset);
      if (n < 0) return;
      await handle.datasync();
      res.write(`{"EventType":"PERSISTED","FragmentTimecode":${n},"FragmentNumber":"${n}"}\n`);
      for (const t of tails.get(stream) ?? []) {
        t.cork();
        for (const b of unit) t.write(b);
        t.uncork();
      }
    }).finally(() => {
      if (--queued < 4) req.resume();
    });
  };

  req.on('data', (chunk: Buffer) => {
    while (chunk.length > 0) {
      const need = (index < 0 ? headerBytes : fragmentBytes) - have;
      const take = Math.min(need, chunk.length);
      if (take > 0) parts.push(chunk.subarray(0, take));
      have += take;
      chunk = chunk.subarray(take);
      if (have === (index < 0 ? headerBytes : fragmentBytes)) {
        store(parts, index);
        parts = [];
        have = 0;
        index++;
      }
    }
  });
  req.on('end', () => {
    void queue.finally(async () => {
      await handle.close();
      res.end();
    });
  });
  req.on('error', () => void queue.finally(() => handle.close()));
}

function tail(req: http.IncomingMessage, res: http.ServerResponse): void {
  const stream = String(req.headers['x-bench-stream'] ?? 'default');
  req.resume();
  res.writeHead(200, { 'content-type': 'application/octet-stream' });
  res.flushHeaders();
  res.socket?.setNoDelay(true);
  let set = tails.get(stream);
  if (!set) tails.set(stream, (set = new Set()));
  set.add(res);
  res.on('close', () => set.delete(res));
}

await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid }) + '\n');

process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
