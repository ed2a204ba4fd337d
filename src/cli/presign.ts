/**
 * `kestrel presign put-media`: a presigned PutMedia URL (SigV4 query form, UNSIGNED-PAYLOAD) for
 * producers that cannot sign, such as ffmpeg. The stream name and timecode type travel in the URL.
 */
import { presignUrl, UNSIGNED_PAYLOAD } from '../auth/sigv4.ts';
import { parseArgs, stringFlag, UsageError } from './args.ts';
import { clientCredentials, clientRegion, CREDENTIAL_FLAGS, CREDENTIAL_USAGE } from './credentials.ts';

export const PRESIGN_USAGE = `presign put-media --stream NAME [--expires 24h] [--endpoint URL]
  Prints a presigned PutMedia URL that ffmpeg (or any HTTP client) can POST an MKV stream to without
  signing, valid for --expires (s, m, h or d; default 24h, at most 7d):
    ffmpeg -re -i in.mp4 -c copy -f matroska -method POST "$(kestrel presign put-media --stream cam1)"
  Anyone holding the URL can write to that stream until it expires (or the key is revoked).
  --endpoint URL   server (default $KESTREL_ENDPOINT or http://127.0.0.1:8080)
${CREDENTIAL_USAGE}`;

const MAX_EXPIRES_SEC = 7 * 24 * 3600;

/** `24h`, `30m`, `90s`, `7d` or plain seconds. */
export function parseExpires(text: string): number {
  const m = /^(\d+)\s*([smhd]?)$/.exec(text.trim());
  if (!m) throw new UsageError(`--expires must be a duration such as 3600, 90s, 30m, 24h or 7d, not "${text}"`);
  const sec = Number(m[1]) * { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd'];
  if (sec < 1 || sec > MAX_EXPIRES_SEC) throw new UsageError('--expires must be between 1 second and 7 days');
  return sec;
}

export function presignPutMedia(opts: { endpoint: string; stream: string; expiresSec: number; credentials: { accessKeyId: string; secretAccessKey: string }; region: string; nowMs?: number }): string {
  const url = new URL('putMedia', opts.endpoint.replace(/\/*$/, '/'));
  url.searchParams.set('x-amzn-stream-name', opts.stream);
  url.searchParams.set('x-amzn-fragment-timecode-type', 'ABSOLUTE');
  return presignUrl({ method: 'POST', url, payloadHash: UNSIGNED_PAYLOAD, credentials: opts.credentials, region: opts.region, expiresSec: opts.expiresSec, ...(opts.nowMs !== undefined ? { nowMs: opts.nowMs } : {}) });
}

export async function presign(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv, [], ['stream', 'expires', 'endpoint', ...CREDENTIAL_FLAGS]);
  const [what, ...extra] = args.positionals;
  if (what !== 'put-media') throw new UsageError('usage: kestrel presign put-media --stream NAME [--expires 24h]');
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const stream = stringFlag(args, 'stream');
  if (!stream) throw new UsageError('--stream NAME is required');
  const endpoint = stringFlag(args, 'endpoint', 'KESTREL_ENDPOINT', 'http://127.0.0.1:8080')!;
  if (!URL.canParse(endpoint)) throw new UsageError('--endpoint must be a URL');
  const expiresSec = parseExpires(stringFlag(args, 'expires') ?? '24h');
  process.stdout.write(presignPutMedia({ endpoint, stream, expiresSec, credentials: clientCredentials(args), region: clientRegion() }) + '\n');
}
