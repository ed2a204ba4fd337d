/**
 * Composition of edge-pull (src/cluster/README.md): with a shared (PostgreSQL) index, readers on
 * this node get an unsealed fragment written by another node from that node over internal HTTP;
 * every node serves its own fragments on /internal/v1/… to peers holding the shared server key.
 * Embedded single node: nothing changes (readers keep the default index + media source).
 */
import { LRUCache } from 'lru-cache';
import type { Router } from 'express';
import { internalRouter } from './api/internal-routes.ts';
import { deriveInternalKey } from './auth/node-token.ts';
import { EdgePullSource } from './cluster/edge-pull.ts';
import { pullFragment } from './cluster/peer-client.ts';
import { KvsError } from './shared/errors.ts';
import type { Logger } from './shared/logger.ts';
import { indexedMediaBytes, type FragmentBytesSource } from './store/fragment-bytes.ts';
import type { StreamLease, StreamLeaseStore } from './store/leases.ts';
import type { FragmentIndex, MediaStore } from './store/types.ts';

export const EDGE_PULL_TIMEOUT_MS = 5_000;
export const EDGE_PULL_MAX_FRAGMENT_BYTES = 64 * 1024 * 1024;
export const EDGE_PULL_CACHE_BYTES = 64 * 1024 * 1024;
/** How long a stream's lease holder / a node's address is trusted before asking the index again. */
const LOOKUP_TTL_MS = 1_000;

export interface EdgePull {
  /** For readers (undefined: embedded, keep the default). */
  bytes?: FragmentBytesSource;
  /** The internal endpoint (cluster only). */
  router?: Router;
  metricValues(): Record<string, number>;
}

export function createEdgePull(o: {
  cluster: boolean;
  serverKey: Buffer;
  nodeId: string;
  leases: StreamLeaseStore;
  index: FragmentIndex;
  media: MediaStore;
  now: () => number;
  log: Logger;
}): EdgePull {
  const internalKey = deriveInternalKey(o.serverKey);
  const local = indexedMediaBytes(o.index, o.media);
  if (!o.cluster) return { metricValues: () => ({}) };
  const router = internalRouter({ internalKey, index: o.index, bytes: local, now: o.now, log: o.log });
  const holders = new LRUCache<number, { lease: StreamLease | undefined }>({ max: 10_000, ttl: LOOKUP_TTL_MS });
  const addresses = new LRUCache<string, string>({ max: 1_000, ttl: LOOKUP_TTL_MS });
  // Who owned an epoch never changes once recorded: cached without expiry (bounded in entries).
  const epochNodes = new LRUCache<string, string>({ max: 100_000 });
  const source = new EdgePullSource({
    local,
    selfNodeId: o.nodeId,
    async holder(streamId, epoch) {
      const hit = holders.get(streamId);
      // A fragment of a newer epoch than the cached lease: ownership moved, ask again.
      if (hit && hit.lease && hit.lease.epoch >= epoch) return hit.lease;
      const lease = await o.leases.holder(streamId);
      holders.set(streamId, { lease });
      return lease;
    },
    async epochNode(streamId, epoch) {
      const key = `${streamId}/${epoch}`;
      const hit = epochNodes.get(key);
      if (hit !== undefined) return hit;
      const nodeId = await o.leases.epochNode(streamId, epoch);
      if (nodeId !== undefined) epochNodes.set(key, nodeId);
      return nodeId;
    },
    async pull(nodeId, streamId, fragmentNumber) {
      let url = addresses.get(nodeId);
      if (!url) {
        for (const n of await o.leases.liveNodes()) addresses.set(n.nodeId, n.publicUrl);
        url = addresses.get(nodeId);
      }
      if (!url) throw new KvsError('InternalFailure', `fragment ${fragmentNumber} is held by node ${nodeId}, which is not live (no heartbeat).`);
      return pullFragment({ nodeId, baseUrl: url }, streamId, fragmentNumber, { internalKey, timeoutMs: EDGE_PULL_TIMEOUT_MS, maxBytes: EDGE_PULL_MAX_FRAGMENT_BYTES, now: o.now });
    },
    cacheBytes: EDGE_PULL_CACHE_BYTES,
  });
  return {
    bytes: source,
    router,
    metricValues() {
      const s = source.stats();
      return {
        edge_pulls: s.pulls,
        edge_pull_failures: s.pullFailures,
        edge_pull_bytes: s.bytesPulled,
        edge_cache_hits: s.cacheHits,
        edge_cache_evictions: s.cacheEvictions,
        edge_cache_bytes: s.cacheBytes,
        edge_cache_max_bytes: s.cacheMaxBytes,
      };
    },
  };
}
