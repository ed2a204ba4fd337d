import http from 'node:http';
import type { Credentials } from '../../src/auth/sigv4.ts';
import { signedPutMediaHeaders, testCredentials } from './auth.ts';

export interface Ack {
  EventType: string;
  FragmentTimecode?: number;
  FragmentNumber?: string;
  ErrorId?: number;
  ErrorCode?: string;
}

export interface RawPutResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  acks: Ack[];
  /** Raw response chunks as they arrived (each ACK should be its own chunk). */
  chunks: string[];
  body: string;
}

/**
 * Sends a PutMedia request with a chunked body written piece by piece (as producers do) and
 * collects the ACK stream. `pieces` may be an async iterable to pace the upload. Signed like the
 * KVS producer SDK signs PutMedia (test root key unless `credentials`; null sends it unsigned).
 */
export function rawPutMedia(
  url: string,
  streamName: string | undefined,
  pieces: Iterable<Buffer> | AsyncIterable<Buffer>,
  headers: Record<string, string> = {},
  onAck?: (ack: Ack) => void,
  credentials: Credentials | null = testCredentials,
): Promise<RawPutResult> {
  return new Promise((resolve, reject) => {
    const target = `${url}/putMedia`;
    const plain: Record<string, string> = {
      'transfer-encoding': 'chunked',
      'x-amzn-fragment-timecode-type': 'ABSOLUTE',
      ...(streamName ? { 'x-amzn-stream-name': streamName } : {}),
      ...headers,
    };
    const req = http.request(target, {
      method: 'POST',
      headers: credentials ? signedPutMediaHeaders(target, plain, credentials) : plain,
    });
    req.on('response', (res) => {
      const chunks: string[] = [];
      let pending = '';
      res.on('data', (c: Buffer) => {
        chunks.push(c.toString('utf8'));
        if (res.statusCode !== 200 || !onAck) return;
        pending += c.toString('utf8');
        const lines = pending.split('\n');
        pending = lines.pop()!;
        for (const l of lines) if (l.trim()) onAck(JSON.parse(l) as Ack);
      });
      const finish = () => {
        const body = chunks.join('');
        const complete = body.slice(0, body.lastIndexOf('\n') + 1);
        const acks = res.statusCode === 200 ? complete.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Ack) : [];
        resolve({ status: res.statusCode ?? 0, headers: res.headers, acks, chunks, body });
      };
      res.on('end', finish);
      // A server killed mid-response still leaves us the ACKs it sent.
      res.on('error', finish);
      res.on('aborted', finish);
    });
    let responded = false;
    req.once('response', () => (responded = true));
    req.on('error', (err) => {
      // The server may drop the connection after an ERROR ACK while we are still writing; a reset
      // before any response, though, would leave this promise pending forever.
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'ECONNRESET' || code === 'EPIPE') && responded) return;
      reject(err);
    });
    void (async () => {
      try {
        for await (const p of pieces as AsyncIterable<Buffer>) {
          if (req.destroyed) return;
          if (!req.write(p)) await new Promise((r) => req.once('drain', r));
        }
        req.end();
      } catch (err) {
        req.destroy(err as Error);
      }
    })();
  });
}
