/**
 * The one way the server calls out (webhooks, KVS notifications, S3, SNS, MQTT). Every call has a
 * connect and a total timeout and follows no redirect; API-set destinations are checked against the
 * allow-list and connect only to permitted addresses (guarded-lookup.ts). Retries belong to the
 * caller (the webhook outbox): `send` makes exactly one attempt and says whether a retry can help.
 */
import type dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import type { Logger } from '../shared/logger.ts';
import { isPublicAddress } from './address-class.ts';
import { DestinationPolicy, type Trust } from './destination-policy.ts';
import { guardedLookup, REFUSED_ADDRESS } from './guarded-lookup.ts';

export interface OutboundSettings {
  /** Patterns for API-set destinations (`--allow-destination`, KESTREL_ALLOW_DESTINATIONS); see README.md. */
  allowDestinations?: string[];
  /** TCP (+TLS) connect timeout per call. Default 5 s. */
  connectTimeoutMs?: number;
  /** Whole call, connect to last response byte. Default 15 s. */
  timeoutMs?: number;
  /** Name resolution for API-set destinations (default dns.lookup; tests inject one). */
  resolve?: typeof dns.lookup;
}

export type OutboundOutcome = 'ok' | 'refused_pattern' | 'refused_address' | 'redirect' | 'http_status' | 'timeout' | 'network';

export type SendResult =
  | { ok: true; status: number }
  | { ok: false; outcome: Exclude<OutboundOutcome, 'ok'>; error: string; status?: number; /** No retry can succeed. */ permanent: boolean };

export interface OutboundRequest {
  url: string;
  method?: 'POST' | 'PUT';
  headers?: Record<string, string>;
  body: string | Buffer;
  /** Overrides the settings' total timeout for this call. */
  timeoutMs?: number;
}

/** One attempt at an HTTP call (what WebhookNotifier uses). */
export type HttpSender = (req: OutboundRequest) => Promise<SendResult>;

/** NodeHttpHandler options for AWS SDK v3 clients (`requestHandler`). */
export interface AwsRequestHandlerOptions {
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
  connectionTimeout: number;
  requestTimeout: number;
}

const RESPONSE_BYTES_READ = 64 * 1024;

export class Outbound {
  readonly policy: DestinationPolicy;
  readonly connectTimeoutMs: number;
  readonly timeoutMs: number;
  private readonly counts = new Map<OutboundOutcome, number>();
  private readonly agents: Array<http.Agent> = [];
  private readonly resolve: typeof dns.lookup | undefined;

  constructor(settings: OutboundSettings = {}, private readonly log?: Logger) {
    this.policy = new DestinationPolicy(settings.allowDestinations ?? []);
    this.connectTimeoutMs = settings.connectTimeoutMs ?? 5_000;
    this.timeoutMs = settings.timeoutMs ?? 15_000;
    this.resolve = settings.resolve;
  }

  /** Calls per outcome since start (refusals included), for logs, tests and metrics. */
  stats(): Record<OutboundOutcome, number> {
    const out = { ok: 0, refused_pattern: 0, refused_address: 0, redirect: 0, http_status: 0, timeout: 0, network: 0 };
    for (const [k, v] of this.counts) out[k] = v;
    return out;
  }

  /** A sender bound to a trust level: `api` re-checks the allow-list and the connected address on every call. */
  sender(trust: Trust): HttpSender {
    return (req) => this.send(trust, req);
  }

  async send(trust: Trust, req: OutboundRequest): Promise<SendResult> {
    const result = await this.attempt(trust, req);
    this.count(result.ok ? 'ok' : result.outcome);
    if (!result.ok && (result.outcome === 'refused_pattern' || result.outcome === 'refused_address')) {
      this.log?.warn({ url: redact(req.url), outcome: result.outcome, error: result.error }, 'outbound call refused');
    }
    return result;
  }

  /** Options for an AWS SDK client's `requestHandler`: timeouts, and for `api` trust the address check. */
  awsRequestHandler(trust: Trust): AwsRequestHandlerOptions {
    const lookup = trust === 'api' ? guardedLookup(isPublicAddress, this.resolve) : undefined;
    const agentOptions = { keepAlive: true, maxSockets: 16, ...(lookup ? { lookup } : {}) };
    const httpAgent = new http.Agent(agentOptions);
    const httpsAgent = new https.Agent(agentOptions);
    this.agents.push(httpAgent, httpsAgent);
    return { httpAgent, httpsAgent, connectionTimeout: this.connectTimeoutMs, requestTimeout: this.timeoutMs };
  }

  /** Per-call total timeout for AWS SDK `send` (the handler's requestTimeout only bounds idle sockets). */
  awsCallSignal(): AbortSignal {
    return AbortSignal.timeout(this.timeoutMs);
  }

  /** Records an outcome observed outside `send` (AWS SDK calls). */
  count(outcome: OutboundOutcome): void {
    this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + 1);
  }

  close(): void {
    for (const a of this.agents.splice(0)) a.destroy();
  }

  private async attempt(trust: Trust, req: OutboundRequest): Promise<SendResult> {
    if (!URL.canParse(req.url) || !/^https?:$/.test(new URL(req.url).protocol)) {
      return { ok: false, outcome: 'network', error: `not an http(s) URL: ${req.url}`, permanent: true };
    }
    const url = new URL(req.url);
    let allowed: ((address: string) => boolean) | undefined;
    if (trust === 'api') {
      const verdict = this.policy.checkApiDestination(req.url);
      if (!verdict.ok) return { ok: false, outcome: 'refused_pattern', error: verdict.reason, permanent: true };
      allowed = this.policy.addressFilter(req.url);
      // Sockets skip `lookup` for IP literals, so those are checked here.
      const literal = url.hostname.replace(/^\[|\]$/g, '');
      if (isIP(literal) && !allowed(literal)) {
        return { ok: false, outcome: 'refused_address', error: `${literal} is not a public address and no allowed destination pattern names it`, permanent: true };
      }
    }
    return this.request(url, req, allowed ? guardedLookup(allowed, this.resolve) : undefined);
  }

  private request(url: URL, req: OutboundRequest, lookup: ReturnType<typeof guardedLookup> | undefined): Promise<SendResult> {
    const body = typeof req.body === 'string' ? Buffer.from(req.body) : req.body;
    const mod = url.protocol === 'https:' ? https : http;
    return new Promise((resolve) => {
      let settled = false;
      const timers: NodeJS.Timeout[] = [];
      const finish = (r: SendResult): void => {
        if (settled) return;
        settled = true;
        for (const t of timers) clearTimeout(t);
        resolve(r);
      };
      const fail = (outcome: 'timeout' | 'network', error: string): void => finish({ ok: false, outcome, error, permanent: false });
      // agent: false — one connection per call, so every call resolves and checks its address afresh.
      const r = mod.request(url, {
        method: req.method ?? 'POST',
        agent: false,
        headers: { ...req.headers, 'content-length': String(body.length) },
        ...(lookup ? { lookup } : {}),
      });
      timers.push(
        setTimeout(() => {
          fail('timeout', `no response within ${req.timeoutMs ?? this.timeoutMs} ms`);
          r.destroy();
        }, req.timeoutMs ?? this.timeoutMs),
      );
      r.on('socket', (socket) => {
        if (!socket.connecting) return;
        const t = setTimeout(() => {
          fail('timeout', `connect timed out after ${this.connectTimeoutMs} ms`);
          r.destroy();
        }, this.connectTimeoutMs);
        timers.push(t);
        socket.once('connect', () => clearTimeout(t));
      });
      r.on('error', (err: NodeJS.ErrnoException) => {
        if (err.code === REFUSED_ADDRESS) finish({ ok: false, outcome: 'refused_address', error: err.message, permanent: true });
        else fail('network', err.code ?? err.message);
      });
      r.on('response', (res) => {
        const status = res.statusCode ?? 0;
        let read = 0;
        res.on('data', (chunk: Buffer) => {
          read += chunk.length;
          if (read > RESPONSE_BYTES_READ) res.destroy();
        });
        const done = (): void => {
          if (status >= 200 && status < 300) finish({ ok: true, status });
          else if (status >= 300 && status < 400) finish({ ok: false, outcome: 'redirect', status, error: `HTTP ${status} (redirects are not followed)`, permanent: false });
          else finish({ ok: false, outcome: 'http_status', status, error: `HTTP ${status}`, permanent: false });
          r.destroy();
        };
        res.on('end', done);
        res.on('close', done);
        res.on('error', () => undefined);
      });
      r.end(body);
    });
  }
}

/** How an AWS SDK call failed, for the outbound counters. */
export function awsOutcome(err: unknown): 'refused_address' | 'timeout' | 'network' | 'http_status' {
  const e = err as { code?: string; name?: string; cause?: { code?: string }; $metadata?: { httpStatusCode?: number } };
  if (e.code === REFUSED_ADDRESS || e.cause?.code === REFUSED_ADDRESS) return 'refused_address';
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'timeout';
  return e.$metadata?.httpStatusCode ? 'http_status' : 'network';
}

/** URL without credentials or query for logs (they may carry secrets). */
function redact(url: string): string {
  if (!URL.canParse(url)) return url;
  const u = new URL(url);
  return `${u.protocol}//${u.host}${u.pathname}`;
}
