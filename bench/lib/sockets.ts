/**
 * Server-side socket figures for the connection-flood benches, read with `ss` (iproute2) in a
 * child process so the load generator's event loop never blocks on a large socket table:
 * established connections to a port by peer, and the listen socket's accept queue; plus the
 * kernel's listen-overflow counter from /proc/net/netstat (a few lines).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PortConnections {
  /** Established connections to `port` whose peer is `peer` (e.g. the cameras on 127.0.0.1). */
  fromPeer: number;
  /**
   * Established connections to `port` from any other address (the attacker), accepted or not. An
   * estimate under churn (the dump is not atomic); the server's fd count is the exact figure.
   */
  fromOthers: number;
  /** The listen socket's accept queue: connections the kernel completed that the server has not accepted yet. */
  acceptQueue: number;
}

export async function portConnections(port: number, peer = '127.0.0.1'): Promise<PortConnections> {
  // One dump (listener and connections together), so the two counts come from the same moment.
  const { stdout } = await run('ss', ['-Htan', `sport = :${port}`], { maxBuffer: 64 * 1024 * 1024, timeout: 10_000 });
  const out: PortConnections = { fromPeer: 0, fromOthers: 0, acceptQueue: 0 };
  for (const line of stdout.split('\n')) {
    // State Recv-Q Send-Q Local:Port Peer:Port; a listener's Recv-Q is its current accept queue.
    const [state, recvQ, , , peerField] = line.trim().split(/\s+/);
    if (state === 'LISTEN') out.acceptQueue = Number(recvQ);
    else if (state === 'ESTAB' && peerField) {
      if (peerField.startsWith(`${peer}:`)) out.fromPeer++;
      else out.fromOthers++;
    }
  }
  return out;
}

/** TcpExt counters of the whole network namespace: accept-queue overflows. */
export function listenOverflows(): number {
  const text = fs.readFileSync('/proc/net/netstat', 'utf8').split('\n');
  const [head, values] = text.filter((l) => l.startsWith('TcpExt:'));
  const names = head!.split(/\s+/);
  return Number(values!.split(/\s+/)[names.indexOf('ListenOverflows')] ?? 0);
}
