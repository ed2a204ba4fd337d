/**
 * Benchmark child: a bare node:http static file server over `<dir>` (GET only, no cache in
 * memory: stat + fs.createReadStream per request, as a plain static server does). The baseline
 * for segment serving. Prints {"url","pid"} when listening.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';

const root = process.argv[2];
if (!root) throw new Error('usage: static-child.ts <dir>');
const base = path.resolve(root);

const TYPES: Record<string, string> = { '.m3u8': 'application/vnd.apple.mpegurl', '.mp4': 'video/mp4' };

const server = http.createServer((req, res) => {
  if (req.method !== 'GET') return void res.writeHead(405).end();
  const file = path.join(base, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
  if (!file.startsWith(base + path.sep)) return void res.writeHead(403).end();
  fs.stat(file, (err, st) => {
    if (err || !st.isFile()) return void res.writeHead(404).end();
    const ext = path.extname(file);
    res.writeHead(200, {
      'content-type': TYPES[ext] ?? 'application/octet-stream',
      'content-length': st.size,
      'cache-control': ext === '.m3u8' ? 'no-cache' : 'public, max-age=86400, immutable',
    });
    fs.createReadStream(file)
      .on('error', () => res.destroy())
      .pipe(res);
  });
});

await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as AddressInfo;
process.stdout.write(JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid }) + '\n');

process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
