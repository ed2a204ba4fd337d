/**
 * Composition of the live bus: NATS when `--bus` is given (a cluster), else the in-process bus
 * (one node: announcements come back to this node and are ignored, readers are fed by the
 * LiveFeed directly, exactly as before). The bridge announces every fragment after its PERSISTED.
 */
import os from 'node:os';
import { randomUUID } from 'node:crypto';
import type { KestrelConfig } from './config.ts';
import type { Logger } from './shared/logger.ts';
import type { LiveFeed } from './store/live-feed.ts';
import { InProcessLiveBus, type LiveBus } from './bus/live-bus.ts';
import { NatsLiveBus } from './bus/nats-live-bus.ts';
import { LiveFeedBusBridge } from './bus/feed-bridge.ts';
import { busReachable, type NamedReadinessCheck } from './ops/readiness.ts';

/** How long start-up waits for NATS before going on without it (the bus keeps connecting; /readyz says so). */
const FIRST_CONNECT_WAIT_MS = 3000;

export interface NodeBus {
  bus: LiveBus;
  bridge: LiveFeedBusBridge;
  nodeId: string;
  /** Present with a real bus: /readyz reports it. */
  readiness?: NamedReadinessCheck;
  close(): Promise<void>;
}

export async function startLiveBus(config: KestrelConfig, feed: LiveFeed, log: Logger): Promise<NodeBus> {
  // The configured node id names the node; the per-process suffix tells our own announcements apart even
  // when two nodes were (wrongly) given the same id.
  const nodeId = `${config.cluster?.nodeId ?? os.hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  const busLog = log.child({ component: 'bus' });
  let bus: LiveBus;
  if (config.bus) {
    const nats = new NatsLiveBus({ url: config.bus.url, log: busLog, name: `kestrel ${nodeId}`, ...(config.bus.subjectPrefix ? { subjectPrefix: config.bus.subjectPrefix } : {}) });
    await nats.connected(FIRST_CONNECT_WAIT_MS).catch((err: unknown) => busLog.warn({ err }, 'live bus not reachable yet; still trying (readers on other nodes miss live fragments until it is)'));
    bus = nats;
  } else {
    bus = new InProcessLiveBus();
  }
  const bridge = new LiveFeedBusBridge({ feed, bus, nodeId, log: busLog });
  return {
    bus,
    bridge,
    nodeId,
    ...(config.bus ? { readiness: busReachable(bus) } : {}),
    close: async () => {
      bridge.close();
      await bus.close();
    },
  };
}
