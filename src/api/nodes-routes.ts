/**
 * GET /api/v1/nodes: the live nodes of the cluster (one on the embedded defaults) with the streams
 * each owns now and its load, read from the lease store's heartbeats and leases (any node answers
 * the same). `self` marks the node that answered.
 */
import express from 'express';
import type { StreamLeaseStore } from '../store/leases.ts';
import type { StreamRepository } from '../store/types.ts';
import { wrap } from './respond.ts';

export interface NodesRouteDeps {
  leases: StreamLeaseStore;
  streams: Pick<StreamRepository, 'getById'>;
  nodeId: string;
}

export interface NodeView {
  nodeId: string;
  publicUrl: string;
  self: boolean;
  lastHeartbeat: string;
  ingestBytesPerSec: number;
  streams: string[];
}

export async function listNodes(deps: NodesRouteDeps): Promise<NodeView[]> {
  const [nodes, leases] = await Promise.all([deps.leases.liveNodes(), deps.leases.liveLeases()]);
  const names = new Map<number, string>();
  for (const lease of leases) {
    const stream = await deps.streams.getById(lease.streamId);
    if (stream) names.set(lease.streamId, stream.name);
  }
  return nodes.map((n) => ({
    nodeId: n.nodeId,
    publicUrl: n.publicUrl,
    self: n.nodeId === deps.nodeId,
    lastHeartbeat: new Date(n.heartbeatAtMs).toISOString(),
    ingestBytesPerSec: n.ingestBytesPerSec,
    streams: leases.filter((l) => l.nodeId === n.nodeId && names.has(l.streamId)).map((l) => names.get(l.streamId)!).sort(),
  }));
}

export function nodesRouter(deps: NodesRouteDeps): express.Router {
  const router = express.Router({ caseSensitive: true });
  router.get('/api/v1/nodes', wrap(async (_req, res) => {
    res.set('cache-control', 'no-store').json({ nodes: await listNodes(deps) });
  }));
  return router;
}
