/**
 * Connection-level defences for the HTTP server: header/request/keep-alive/idle timeouts and a
 * global and per-address connection cap. Excess connections are closed at once (no response:
 * writing one would cost the very resources being protected) and counted.
 */
import type http from 'node:http';
import type net from 'node:net';
import type { ServerLimits } from '../config.ts';

export interface ConnectionStats {
  open: number;
  refusedGlobal: number;
  refusedPerAddress: number;
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
  const stats: ConnectionStats = { open: 0, refusedGlobal: 0, refusedPerAddress: 0, headerTimeouts: 0, requestTimeouts: 0, idleTimeouts: 0 };
  const perAddress = new Map<string, number>();
  server.timeout = limits.socketIdleTimeoutMs;
  server.on('timeout', (socket: net.Socket) => {
    stats.idleTimeouts++;
    socket.destroy();
  });
  const awaitingFirstRequest = new WeakMap<net.Socket, NodeJS.Timeout>();
  server.on('request', (req: http.IncomingMessage) => {
    clearTimeout(awaitingFirstRequest.get(req.socket));
    awaitingFirstRequest.delete(req.socket);
  });
  server.on('connection', (socket: net.Socket) => {
    const address = socket.remoteAddress ?? '';
    const mine = perAddress.get(address) ?? 0;
    if (stats.open >= limits.maxConnections) {
      stats.refusedGlobal++;
      socket.destroy();
      return;
    }
    if (mine >= limits.maxConnectionsPerAddress) {
      stats.refusedPerAddress++;
      socket.destroy();
      return;
    }
    stats.open++;
    perAddress.set(address, mine + 1);
    // node's headersTimeout starts at the first byte; a socket that sends nothing is closed here.
    const firstRequest = setTimeout(() => {
      stats.headerTimeouts++;
      socket.destroy();
    }, limits.headersTimeoutMs);
    firstRequest.unref();
    awaitingFirstRequest.set(socket, firstRequest);
    socket.once('close', () => {
      clearTimeout(firstRequest);
      stats.open--;
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left <= 0) perAddress.delete(address);
      else perAddress.set(address, left);
    });
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
