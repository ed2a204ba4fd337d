/** Load-generator HTTP: no keep-alive, no socket limit, one TCP connection per request. */
import http from 'node:http';
import { sign } from './auth.ts';

export const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity });

export async function postJson(url: string, body: unknown): Promise<{ status: number; body: string }> {
  const data = Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers: { ...sign('POST', url, { 'content-type': 'application/json' }, data), 'content-length': data.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(data);
  });
}

export async function createStreams(url: string, names: readonly string[]): Promise<void> {
  for (const name of names) {
    const r = await postJson(`${url}/createStream`, { StreamName: name, DataRetentionInHours: 1 });
    if (r.status !== 200) throw new Error(`createStream ${name}: HTTP ${r.status} ${r.body}`);
  }
}

export interface Ack {
  EventType: string;
  FragmentTimecode?: number;
  FragmentNumber?: string;
  ErrorCode?: string;
}

export const kestrelPutHeaders = (stream: string): Record<string, string> => ({
  'x-amzn-stream-name': stream,
  'x-amzn-fragment-timecode-type': 'ABSOLUTE',
});

export const fsyncPutHeaders = (stream: string, headerBytes: number, fragmentBytes: number): Record<string, string> => ({
  'x-bench-stream': stream,
  'x-bench-header-bytes': String(headerBytes),
  'x-bench-fragment-bytes': String(fragmentBytes),
});

/**
 * One streaming upload (PutMedia, or a baseline endpoint) with a chunked body and a
 * line-per-ACK response. PERSISTED ACKs are counted and time-stamped on arrival.
 */
export class Producer {
  status = 0;
  readonly errors: string[] = [];
  readonly errorAcks: Ack[] = [];
  /** Arrival time (performance.now()) of each PERSISTED ACK, in order. */
  readonly persistedAt: number[] = [];
  readonly persistedNumbers: string[] = [];
  bytesSent = 0;
  maxBuffered = 0;
  onAck?: (ack: Ack, at: number) => void;
  readonly done: Promise<void>;
  private readonly req: http.ClientRequest;
  private partial = '';
  /** One shared wait for 'drain', however many callers are blocked on it. */
  private drained: Promise<void> | undefined;

  constructor(url: string, headers: Record<string, string>) {
    // PutMedia is signed like the KVS producer SDK signs it; the baseline endpoints ignore the signature.
    this.req = http.request(url, { method: 'POST', agent, headers: { 'transfer-encoding': 'chunked', ...sign('POST', url, headers) } });
    this.done = new Promise<void>((resolve) => {
      this.req.on('response', (res) => {
        this.status = res.statusCode ?? 0;
        if (this.status !== 200) this.errors.push(`HTTP ${this.status}`);
        res.on('data', (c: Buffer) => this.onData(c.toString('utf8'), performance.now()));
        res.on('end', resolve);
        res.on('close', resolve);
        res.on('error', (e) => this.errors.push(`response: ${e.message}`));
      });
      this.req.on('error', (e) => {
        this.errors.push(`request: ${e.message}`);
        resolve();
      });
    });
    this.req.setNoDelay(true);
    this.req.flushHeaders();
  }

  /**
   * Writes parts as consecutive chunks in one syscall. `onFlushed` gets the time the last byte
   * was handed to the kernel. Resolves when more may be written (after 'drain' if buffered).
   */
  send(parts: readonly Buffer[], onFlushed?: (at: number) => void): Promise<void> {
    if (this.req.destroyed) return Promise.resolve();
    this.req.cork();
    let ok = true;
    parts.forEach((p, i) => {
      this.bytesSent += p.length;
      const last = i === parts.length - 1;
      ok = this.req.write(p, last && onFlushed ? () => onFlushed(performance.now()) : undefined) && ok;
    });
    this.req.uncork();
    this.maxBuffered = Math.max(this.maxBuffered, this.req.writableLength);
    if (ok) return Promise.resolve();
    this.drained ??= new Promise((resolve) => {
      const done = () => {
        this.req.off('drain', done);
        this.req.off('close', done);
        this.drained = undefined;
        resolve();
      };
      this.req.on('drain', done);
      this.req.on('close', done);
    });
    return this.drained;
  }

  /** Ends the body and waits for the response to end. */
  end(): Promise<void> {
    if (!this.req.destroyed) this.req.end();
    return this.done;
  }

  destroy(): void {
    this.req.destroy();
  }

  private onData(text: string, at: number): void {
    const lines = (this.partial + text).split('\n');
    this.partial = lines.pop()!;
    for (const line of lines) {
      if (!line.trim()) continue;
      let ack: Ack;
      try {
        ack = JSON.parse(line) as Ack;
      } catch {
        this.errors.push(`bad ACK line: ${line.slice(0, 80)}`);
        continue;
      }
      if (ack.EventType === 'PERSISTED') {
        this.persistedAt.push(at);
        this.persistedNumbers.push(ack.FragmentNumber ?? '');
      } else if (ack.EventType === 'ERROR') this.errorAcks.push(ack);
      this.onAck?.(ack, at);
    }
  }
}

/** A streaming download (GetMedia or the baseline tail): chunks are handed over with their arrival time. */
export interface Reader {
  /** Resolves with the HTTP status once the response headers arrived. */
  ready: Promise<number>;
  done: Promise<void>;
  close(): void;
}

export function openReader(url: string, opts: { json?: unknown; headers?: Record<string, string> }, onChunk: (c: Buffer, at: number) => void): Reader {
  const body = opts.json === undefined ? undefined : Buffer.from(JSON.stringify(opts.json));
  const plain: Record<string, string> = { ...opts.headers, ...(body ? { 'content-type': 'application/json' } : {}) };
  const headers: Record<string, string | number> = sign('POST', url, plain, body);
  if (body) headers['content-length'] = body.length;
  const req = http.request(url, { method: 'POST', agent, headers });
  let ready!: (status: number) => void;
  let fail!: (e: Error) => void;
  const readyP = new Promise<number>((res, rej) => ((ready = res), (fail = rej)));
  const done = new Promise<void>((resolve) => {
    req.on('response', (res) => {
      ready(res.statusCode ?? 0);
      res.on('data', (c: Buffer) => onChunk(c, performance.now()));
      res.on('end', resolve);
      res.on('close', resolve);
      res.on('error', () => resolve());
    });
    req.on('error', (e) => {
      fail(e);
      resolve();
    });
  });
  req.end(body);
  return { ready: readyP, done, close: () => req.destroy() };
}
