/**
 * Client side of edge-pull: GET one fragment from a peer node's internal endpoint, signed with a
 * node token (auth/node-token.ts), with a timeout and a size bound. The peer's address comes from
 * the nodes table (written by the peers' own heartbeats), not from user input, so this call does
 * not go through the outbound destination policy (src/outbound/, meant for user-given webhook
 * and notification URLs, which refuses the private addresses cluster nodes live on).
 */
import { KvsError } from '../shared/errors.ts';
import { mintNodeToken, NODE_TOKEN_HEADER } from '../auth/node-token.ts';
import type { FragmentBytes } from '../store/fragment-bytes.ts';

export const HEADER_LENGTH_HEADER = 'x-kestrel-header-length';

export function internalFragmentPath(streamId: number, fragmentNumber: string): string {
  return `/internal/v1/streams/${streamId}/fragments/${fragmentNumber}`;
}

export interface PeerClientOptions {
  internalKey: Buffer;
  timeoutMs: number;
  maxBytes: number;
  now: () => number;
}

export async function pullFragment(peer: { nodeId: string; baseUrl: string }, streamId: number, fragmentNumber: string, o: PeerClientOptions): Promise<FragmentBytes> {
  const { baseUrl } = peer;
  const node = `${peer.nodeId} (${baseUrl})`;
  const path = internalFragmentPath(streamId, fragmentNumber);
  let res: Response;
  try {
    res = await fetch(`${baseUrl.replace(/\/+$/, '')}${path}`, {
      headers: { [NODE_TOKEN_HEADER]: mintNodeToken(o.internalKey, 'GET', path, o.now()) },
      signal: AbortSignal.timeout(o.timeoutMs),
    });
  } catch (err) {
    throw new KvsError('InternalFailure', `fragment ${fragmentNumber} is held by node ${node}, which did not answer: ${(err as Error).message}`);
  }
  if (res.status === 404) {
    await res.body?.cancel();
    throw new KvsError('ResourceNotFoundException', `fragment ${fragmentNumber} is not on node ${node} any more.`);
  }
  if (!res.ok) {
    await res.body?.cancel();
    throw new KvsError('InternalFailure', `node ${node} refused fragment ${fragmentNumber}: HTTP ${res.status}`);
  }
  // A declared length is required: without one the body could grow without bound before we see it.
  const declared = Number(res.headers.get('content-length') ?? NaN);
  const headerLength = Number(res.headers.get(HEADER_LENGTH_HEADER));
  if (!Number.isSafeInteger(declared) || declared > o.maxBytes || !Number.isSafeInteger(headerLength) || headerLength < 0 || headerLength > declared) {
    await res.body?.cancel();
    throw new KvsError('InternalFailure', `node ${node} answered fragment ${fragmentNumber} with a bad or oversized body (${declared} bytes, limit ${o.maxBytes})`);
  }
  const all = Buffer.from(await res.arrayBuffer());
  if (all.length !== declared) throw new KvsError('InternalFailure', `node ${node} sent ${all.length} of ${declared} bytes of fragment ${fragmentNumber}`);
  return { header: all.subarray(0, headerLength), body: all.subarray(headerLength) };
}
