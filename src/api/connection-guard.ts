/**
 * Connection-level defences for the HTTP server: header/request/keep-alive/idle timeouts and a
 * global and per-address connection cap. Excess connections are closed at once (no response:
 * writing one would cost the very resources being protected) and counted. At the global cap the
 * oldest connection that has not sent a request head is closed to admit the newcomer, so a flood
 * of slow or silent sockets from many addresses cannot lock real clients out.
 */
import type http from 'node:http';
import type net from 'node:net';
import type { ServerLimits } from '../config.ts';

export interface ConnectionStats {
  open: number;
  /** Open connections that have not sent a complete request head yet (the evictable ones). */
  awaitingRequest: number;
  refusedGlobal: number;
  refusedPerAddress: number;
  /** At the global cap: connections still without a request head closed to admit a newcomer. */
  evictedAwaitingRequest: number;
  /** Sockets closed because no complete request head arrived within the header timeout. */
  headerTimeouts: number;
  /** Ordinary requests whose body did not arrive within the request timeout. */
  requestTimeouts: number;
  idleTimeouts: number;
}

type Limits = Pick<ServerLimits, 'headersTimeoutMs' | 'requestTimeoutMs' | 'keepAliveTimeoutMs' | 'socketIdleTimeoutMs' | 'maxConnections' | 'maxConnectionsPerAddress'>;

/** Options for http.createServer. requestTimeout stays 0 here: PutMedia bodies last for minutes; see guardRequest. */
export function serverOptions(limits: Limits): http.ServerOptions {
  return {
    requestTimeout: 0,
    headersTimeout: limits.headersTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // How often node checks headersTimeout; its 30 s default would make a 10 s timeout 40 s.
    connectionsCheckingInterval: Math.max(250, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
  };
}

export function guardConnections(server: http.Server, limits: Limits): ConnectionStats {
  const stats: ConnectionStats = { open: 0, awaitingRequest: 0, refusedGlobal: 0, refusedPerAddress: 0, evictedAwaitingRequest: 0, headerTimeouts: 0, requestTimeouts: 0, idleTimeouts: 0 };
  const perAddress = new Map<string, number>();
  server.timeout = limits.socketIdleTimeoutMs;
  server.on('timeout', (socket: net.Socket) => {
    stats.idleTimeouts++;
    socket.destroy();
  });
  // Connections with no complete request head yet, oldest first (a Map keeps insertion order).
  const awaitingFirstRequest = new Map<net.Socket, { timer: NodeJS.Timeout; release: () => void }>();
  server.on('request', (req: http.IncomingMessage) => {
    const waiting = awaitingFirstRequest.get(req.socket);
    if (!waiting) return;
    clearTimeout(waiting.timer);
    awaitingFirstRequest.delete(req.socket);
    stats.awaitingRequest = awaitingFirstRequest.size;
  });
  server.on('connection', (socket: net.Socket) => {
    const address = socket.remoteAddress ?? '';
    const mine = perAddress.get(address) ?? 0;
    if (mine >= limits.maxConnectionsPerAddress) {
      stats.refusedPerAddress++;
      socket.destroy();
      return;
    }
    if (stats.open >= limits.maxConnections) {
      // Full: make room by closing the oldest connection that has not sent a request head yet (a
      // slowloris socket, or a silent one) rather than refusing a newcomer that may be a real
      // client, which sends its head within milliseconds. Refused only when every slot is in use.
      const oldest = awaitingFirstRequest.entries().next().value;
      if (!oldest) {
        stats.refusedGlobal++;
        socket.destroy();
        return;
      }
      stats.evictedAwaitingRequest++;
      oldest[1].release();
      oldest[0].destroy();
    }
    stats.open++;
    perAddress.set(address, mine + 1);
    let released = false;
    // Counted free at once, whether closed by its peer or evicted (its 'close' comes later).
    const release = () => {
      if (released) return;
      released = true;
      clearTimeout(timer);
      awaitingFirstRequest.delete(socket);
      stats.awaitingRequest = awaitingFirstRequest.size;
      stats.open--;
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left <= 0) perAddress.delete(address);
      else perAddress.set(address, left);
    };
    // node's headersTimeout starts at the first byte; a socket that sends nothing is closed here.
    const timer = setTimeout(() => {
      stats.headerTimeouts++;
      socket.destroy();
    }, limits.headersTimeoutMs);
    timer.unref();
    awaitingFirstRequest.set(socket, { timer, release });
    stats.awaitingRequest = awaitingFirstRequest.size;
    socket.once('close', release);
  });
  return stats;
}

/**
 * Per-request rule for ordinary requests: the body must be in within `requestTimeoutMs`
 * (node's own requestTimeout cannot exempt the long PutMedia body, so it is applied here).
 */
export function guardRequest(req: http.IncomingMessage, limits: Limits, stats: ConnectionStats): void {
  if (req.complete) return;
  const timer = setTimeout(() => {
    if (req.complete) return;
    stats.requestTimeouts++;
    req.socket.destroy();
  }, limits.requestTimeoutMs);
  timer.unref();
  req.once('end', () => clearTimeout(timer));
  req.once('close', () => clearTimeout(timer));
}
