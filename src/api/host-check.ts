/**
 * Host and Origin screening. A Host header naming something other than this server is how DNS
 * rebinding reaches a loopback service; an Origin header from another site is a browser page
 * talking to us on a user's behalf. Both are refused unless the name is allowed.
 */
import type { NextFunction, Request, Response } from 'express';
import net from 'node:net';
import { sendKvsError } from './respond.ts';
import { KvsError } from '../shared/errors.ts';

export interface HostPolicy {
  /** Allowed `host:port` pairs (lower case, IPv6 in brackets) and bare names (any port). */
  readonly pairs: ReadonlySet<string>;
  readonly names: ReadonlySet<string>;
  readonly any: boolean;
  /** Bound to a wildcard address: any IP literal with our port is us (rebinding needs a DNS name). */
  readonly ipLiteralsOnPort: number | undefined;
}

export interface HostPolicyInput {
  boundHost: string;
  port: number;
  publicUrl?: string;
  allowedHosts: readonly string[];
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '[::1]'];

export function hostPolicy(input: HostPolicyInput): HostPolicy {
  const pairs = new Set<string>();
  const names = new Set<string>();
  let any = false;
  for (const name of [...LOOPBACK_NAMES, bracket(input.boundHost)]) pairs.add(`${name.toLowerCase()}:${input.port}`);
  if (input.publicUrl) {
    const u = new URL(input.publicUrl);
    const port = u.port || (u.protocol === 'https:' ? '443' : '80');
    pairs.add(`${u.hostname.toLowerCase()}:${port}`);
  }
  for (const raw of input.allowedHosts) {
    const h = raw.trim().toLowerCase();
    if (h === '') continue;
    if (h === '*') any = true;
    else if (/:\d+$/.test(h) && !/^[^[]*:.*:/.test(h)) pairs.add(h);
    else names.add(bracket(h));
  }
  const wildcard = input.boundHost === '0.0.0.0' || input.boundHost === '::' || input.boundHost === '';
  return { pairs, names, any, ipLiteralsOnPort: wildcard ? input.port : undefined };
}

/** Whether a `host[:port]` (Host header or an Origin's host) names this server. */
export function isAllowedHost(policy: HostPolicy, hostPort: string, defaultPort: number): boolean {
  if (policy.any) return true;
  const m = /^(\[[0-9a-f:.]+\]|[^:[\]]+)(?::(\d+))?$/i.exec(hostPort.trim());
  if (!m) return false;
  const name = m[1]!.toLowerCase();
  const port = m[2] ? Number(m[2]) : defaultPort;
  if (policy.names.has(name) || policy.pairs.has(`${name}:${port}`)) return true;
  return policy.ipLiteralsOnPort === port && net.isIP(name.replace(/^\[|\]$/g, '')) !== 0;
}

/**
 * The paths a page on any origin may fetch: HLS/DASH resources carry their own session token,
 * and CORS preflights change nothing.
 */
function crossOriginAllowed(req: Request): boolean {
  if (req.method === 'OPTIONS') return true;
  return (req.method === 'GET' || req.method === 'HEAD') && /^\/(hls|dash)\/v1\//.test(req.path);
}

export interface ScreeningStats {
  refusedHost: number;
  refusedOrigin: number;
}

export function hostScreening(policy: () => HostPolicy, stats: ScreeningStats) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const host = req.headers.host;
    if (host === undefined || !isAllowedHost(policy(), host, 80)) {
      stats.refusedHost++;
      res.set('connection', 'close');
      return sendKvsError(res, new KvsError('ForbiddenException', `Host ${JSON.stringify(host ?? '')} is not allowed here (add it with --allowed-host).`));
    }
    const origin = req.headers.origin;
    if (origin !== undefined && !crossOriginAllowed(req) && !isAllowedOrigin(policy(), origin)) {
      stats.refusedOrigin++;
      return sendKvsError(res, new KvsError('ForbiddenException', `Cross-origin request from ${JSON.stringify(origin)} refused (add its host with --allowed-host).`));
    }
    next();
  };
}

function isAllowedOrigin(policy: HostPolicy, origin: string): boolean {
  if (!URL.canParse(origin)) return false; // includes "null" (sandboxed frames, file: pages)
  const u = new URL(origin);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return false;
  return isAllowedHost(policy, u.host, u.protocol === 'https:' ? 443 : 80);
}

function bracket(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}
