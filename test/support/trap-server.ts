/**
 * A loopback HTTP server for outbound-call tests: counts every TCP connection and request it gets
 * and answers in one of three ways: 204, a redirect to `location`, or never (a hung destination).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export type TrapMode = { kind: 'ok' } | { kind: 'redirect'; location: string; status?: number } | { kind: 'hang' };

export class TrapServer {
  connections = 0;
  readonly requests: Array<{ method: string; url: string; body: string }> = [];
  private readonly server: http.Server;

  constructor(private readonly mode: TrapMode = { kind: 'ok' }) {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.requests.push({ method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks).toString('utf8') });
        if (this.mode.kind === 'ok') res.writeHead(204).end();
        else if (this.mode.kind === 'redirect') res.writeHead(this.mode.status ?? 302, { location: this.mode.location }).end();
        // 'hang': never answer; the client must give up on its own.
      });
    });
    this.server.on('connection', () => this.connections++);
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', () => resolve());
    });
    return this;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  url(path = '/'): string {
    return `http://127.0.0.1:${this.port}${path}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
