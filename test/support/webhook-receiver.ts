/**
 * A real local HTTP webhook receiver for tests. Records accepted deliveries (2xx) with headers and
 * raw body; can answer 503 (`mode = 'unavailable'`) or be stopped (connection refused) and
 * restarted on the same port.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedDelivery {
  headers: http.IncomingHttpHeaders;
  body: string;
  receivedAt: number;
}

export class WebhookReceiver {
  readonly received: ReceivedDelivery[] = [];
  /** Requests answered with 503, for assertions. */
  rejected = 0;
  mode: 'ok' | 'unavailable' = 'ok';
  /** When set, requests whose body matches are answered 503 (even in 'ok' mode). */
  rejectIf: ((body: string) => boolean) | undefined;
  private server: http.Server | undefined;
  private port = 0;
  private waiters: Array<{ n: number; resolve: () => void }> = [];

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  async start(): Promise<void> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        if (this.mode === 'unavailable' || this.rejectIf?.(body)) {
          this.rejected++;
          res.writeHead(503).end('down');
          return;
        }
        this.received.push({ headers: req.headers, body, receivedAt: Date.now() });
        res.writeHead(204).end();
        for (const w of this.waiters.filter((x) => this.received.length >= x.n)) w.resolve();
        this.waiters = this.waiters.filter((x) => this.received.length < x.n);
      });
    });
    server.keepAliveTimeout = 500;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  /** Closes the listener and all connections: clients then get ECONNREFUSED. */
  async stop(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  }

  waitFor(n: number, timeoutMs = 15_000): Promise<void> {
    if (this.received.length >= n) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`webhook receiver: ${this.received.length}/${n} deliveries after ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({
        n,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }
}
