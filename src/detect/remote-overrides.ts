/**
 * `kestrel worker`: the API overrides of the server it consumes (GET /api/v1/streams/:name/detection,
 * a Kestrel addition). 404 (unknown stream, or a real KVS endpoint) = no override; a failed request
 * keeps the last value seen, so a flaky network does not restart pipelines.
 */
import type { DetectConfig } from './detect-config.ts';
import { signedFetch, type SigningContext } from '../client/signed-fetch.ts';

export class RemoteDetectConfigOverrides {
  private readonly last = new Map<string, Partial<DetectConfig> | null>();

  constructor(
    private readonly endpoint: string,
    private readonly onLog?: (line: string) => void,
    private readonly timeoutMs = 5000,
    /** Signs the request (the server's /api/v1 needs SigV4 or a session). */
    private readonly signing?: SigningContext,
  ) {}

  async get(stream: string): Promise<Partial<DetectConfig> | null> {
    const url = `${this.endpoint.replace(/\/+$/, '')}/api/v1/streams/${encodeURIComponent(stream)}/detection`;
    try {
      const res = await signedFetch(url, { signal: AbortSignal.timeout(this.timeoutMs), headers: { accept: 'application/json' } }, this.signing);
      let value: Partial<DetectConfig> | null;
      if (res.status === 404) {
        await res.body?.cancel();
        value = null;
      } else if (res.ok) {
        const body = (await res.json()) as { override?: Partial<DetectConfig> | null };
        value = body.override ?? null;
      } else {
        await res.body?.cancel();
        throw new Error(`HTTP ${res.status}`);
      }
      this.last.set(stream, value);
      return value;
    } catch (err) {
      const prev = this.last.get(stream) ?? null;
      this.onLog?.(`${stream}: cannot read detection overrides from ${url}: ${(err as Error).message}; using ${prev ? 'the last ones' : 'none'}`);
      return prev;
    }
  }
}
