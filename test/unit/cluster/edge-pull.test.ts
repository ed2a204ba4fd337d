import { describe, expect, it } from 'vitest';
import { EdgePullSource, originOf } from '../../../src/cluster/edge-pull.ts';
import { deriveInternalKey, mintNodeToken, NODE_TOKEN_TTL_MS, nodeTokenProblem } from '../../../src/auth/node-token.ts';
import { KvsError } from '../../../src/shared/errors.ts';
import { fencedSequence, makeFragmentNumber } from '../../../src/shared/fragment-number.ts';
import type { FragmentBytes } from '../../../src/store/fragment-bytes.ts';
import type { StreamLease } from '../../../src/store/leases.ts';
import type { FragmentRecord, MediaLocation } from '../../../src/store/types.ts';

function record(epoch: number, n: number, location: Partial<MediaLocation> = {}): FragmentRecord {
  return {
    streamId: 7,
    fragmentNumber: makeFragmentNumber(fencedSequence(epoch, BigInt(n)), 1_700_000_000_000 + n),
    producerTimestampMs: 0,
    serverTimestampMs: 0,
    durationMs: 1000,
    sizeBytes: 100,
    headerId: 1,
    location: { segment: '00000001', offset: 0, length: 100, ...location },
    tags: {},
    flags: 0,
  };
}
const lease = (nodeId: string, epoch: number): StreamLease => ({ streamId: 7, nodeId, epoch, expiresAtMs: Number.MAX_SAFE_INTEGER });

describe('originOf', () => {
  it('reads sealed fragments through the media tier whoever wrote them', () => {
    expect(originOf(record(3, 0, { object: { key: 'k', offset: 0 } }), 'a', 'b')).toEqual({ from: 'local' });
  });
  it('pulls an unsealed fragment from the node that wrote it', () => {
    expect(originOf(record(3, 0), 'a', 'b')).toEqual({ from: 'peer', nodeId: 'a' });
  });
  it('reads locally what this node wrote, and fragments of epochs nobody recorded', () => {
    expect(originOf(record(3, 0), 'b', 'b')).toEqual({ from: 'local' });
    expect(originOf(record(3, 0), undefined, 'b')).toEqual({ from: 'local' });
  });
});

describe('EdgePullSource', () => {
  const bytesOf = (tag: string, size = 10): FragmentBytes => ({ header: Buffer.from(`h-${tag}`), body: Buffer.alloc(size, tag) });

  function source(o: { holder?: StreamLease; epochs?: Record<number, string>; cacheBytes?: number; fail?: Error } = {}) {
    const pulls: string[] = [];
    const localReads: string[] = [];
    const historyAsked: number[] = [];
    const s = new EdgePullSource({
      local: { read: async (r) => (localReads.push(r.fragmentNumber), bytesOf('local')) },
      selfNodeId: 'b',
      holder: async () => o.holder,
      epochNode: async (_id, epoch) => (historyAsked.push(epoch), o.epochs?.[epoch]),
      pull: async (nodeId, _id, n) => {
        pulls.push(`${nodeId}:${n}`);
        if (o.fail) throw o.fail;
        return bytesOf('peer', 100);
      },
      cacheBytes: o.cacheBytes ?? 1 << 20,
    });
    return { s, pulls, localReads, historyAsked };
  }

  it('pulls once for concurrent and repeated reads of one fragment, then serves it from the cache', async () => {
    const { s, pulls, localReads } = source({ holder: lease('a', 3) });
    const r = record(3, 0);
    const [x, y] = await Promise.all([s.read(r), s.read(r)]);
    await s.read(r);
    expect(x.body.equals(Buffer.alloc(100, 'peer'))).toBe(true);
    expect(y).toBe(x);
    expect(pulls).toEqual([`a:${r.fragmentNumber}`]);
    expect(localReads).toEqual([]);
    expect(s.stats()).toMatchObject({ pulls: 1, cacheHits: 1, bytesPulled: 106 });
  });

  it('keeps the cache within its byte bound and counts evictions', async () => {
    const { s, pulls } = source({ holder: lease('a', 3), cacheBytes: 250 });
    for (let n = 0; n < 4; n++) await s.read(record(3, n));
    expect(s.stats().cacheBytes).toBeLessThanOrEqual(250);
    expect(s.stats().cacheEvictions).toBe(2);
    await s.read(record(3, 0)); // evicted: pulled again
    expect(pulls).toHaveLength(5);
  });

  it('takes the live tail\'s writer from the lease and older epochs\' writers from the history', async () => {
    const { s, pulls, localReads, historyAsked } = source({ holder: lease('c', 4), epochs: { 2: 'a', 3: 'b' } });
    const [tail, older, ours, unknown] = [record(4, 0), record(2, 0), record(3, 0), record(1, 0)];
    for (const r of [tail, older, ours, unknown]) await s.read(r);
    expect(pulls).toEqual([`c:${tail.fragmentNumber}`, `a:${older.fragmentNumber}`]);
    expect(localReads).toEqual([ours.fragmentNumber, unknown.fragmentNumber]);
    expect(historyAsked).toEqual([2, 3, 1]);
  });

  it('reads locally what it should not pull', async () => {
    const { s, pulls, localReads } = source({ holder: lease('b', 3) });
    await s.read(record(3, 1));
    expect(localReads).toHaveLength(1);
    expect(pulls).toEqual([]);
  });

  it('turns a failed pull into a KVS error naming the node, counts it, and caches nothing', async () => {
    const { s, pulls } = source({ holder: lease('a', 3), fail: new Error('connect ECONNREFUSED') });
    const r = record(3, 0);
    await expect(s.read(r)).rejects.toSatisfy((e: unknown) => e instanceof KvsError && e.kvsName === 'InternalFailure' && /node a/.test(e.message));
    await expect(s.read(r)).rejects.toBeInstanceOf(KvsError);
    expect(pulls).toHaveLength(2);
    expect(s.stats()).toMatchObject({ pullFailures: 2, cacheBytes: 0 });
  });
});

describe('node tokens', () => {
  const key = deriveInternalKey(Buffer.alloc(32, 1));
  const path = '/internal/v1/streams/1/fragments/123';
  it('accepts a fresh token for the same method and path only', () => {
    const token = mintNodeToken(key, 'GET', path, 1_000);
    expect(nodeTokenProblem(key, 'GET', path, token, 1_000)).toBeUndefined();
    expect(nodeTokenProblem(key, 'GET', '/internal/v1/streams/2/fragments/123', token, 1_000)).toBe('bad node token');
    expect(nodeTokenProblem(deriveInternalKey(Buffer.alloc(32, 2)), 'GET', path, token, 1_000)).toBe('bad node token');
  });
  it('refuses expired, missing and malformed tokens', () => {
    const token = mintNodeToken(key, 'GET', path, 1_000);
    expect(nodeTokenProblem(key, 'GET', path, token, 1_000 + NODE_TOKEN_TTL_MS + 1)).toBe('node token expired');
    expect(nodeTokenProblem(key, 'GET', path, undefined, 1_000)).toBe('no node token');
    expect(nodeTokenProblem(key, 'GET', path, 'x.y', 1_000)).toBe('malformed node token');
    const farAhead = mintNodeToken(key, 'GET', path, 1_000 + 10 * NODE_TOKEN_TTL_MS);
    expect(nodeTokenProblem(key, 'GET', path, farAhead, 1_000)).toBe('node token expires too far ahead');
  });
  it('is not the server key itself', () => {
    expect(key.equals(Buffer.alloc(32, 1))).toBe(false);
  });
});
