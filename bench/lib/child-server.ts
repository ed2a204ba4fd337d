/**
 * The tail every benchmark server child shares: tell the parent where the server listens (one JSON
 * line on stdout), then close it on SIGTERM (forced exit after 10 s).
 */
import type { KestrelServer } from '../../src/app.ts';

export function serveUntilTerminated(server: KestrelServer): void {
  process.stdout.write(JSON.stringify({ url: server.url, pid: process.pid }) + '\n');
  let closing = false;
  process.on('SIGTERM', () => {
    if (closing) return;
    closing = true;
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    void server.close().finally(() => process.exit(0));
  });
}
