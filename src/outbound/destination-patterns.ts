/**
 * The allow-list for destinations set through the API (`--allow-destination PATTERN`,
 * KESTREL_ALLOW_DESTINATIONS). Pure. Pattern syntax (README.md of this folder):
 *
 *   scheme://host[:port][/path-glob]     http, https or s3 (host = bucket for s3)
 *     host   exact name, `*.example.com` (any subdomain), `*` (any host), or an IP literal (`10.0.0.5`, `[fd00::5]`)
 *     port   omitted = the scheme's default port only; `*` = any port
 *     path   `*` matches any run of characters, including `/`; omitted = any path
 *   arn:...                              an SNS topic ARN, `*` matching any run of characters (case-sensitive, as paths)
 *
 * Only an IP literal in a pattern "names" an address: `http://localhost/*` admits the URL, but the
 * loopback address it resolves to is still refused when connecting.
 */
import { isIP } from 'node:net';
import { canonicalAddress } from './address-class.ts';

export interface UrlPattern {
  kind: 'url';
  source: string;
  scheme: string;
  /** Lower-case; `*` any host; `*.suffix` any subdomain; IP literals canonical. */
  host: string;
  /** Canonical address when the host is an IP literal: the one private address this pattern admits. */
  address?: string;
  /** undefined = any port. */
  port: number | undefined;
  path: RegExp;
}

export interface ArnPattern {
  kind: 'arn';
  source: string;
  match: RegExp;
}

export type DestinationPattern = UrlPattern | ArnPattern;

const DEFAULT_PORTS: Record<string, number> = { http: 80, https: 443, s3: 443 };
const SCHEMES = new Set(Object.keys(DEFAULT_PORTS));

/** Parses one pattern; throws an Error with a message meant for the operator. */
export function parseDestinationPattern(source: string): DestinationPattern {
  const p = source.trim();
  if (/^arn:/i.test(p)) return { kind: 'arn', source: p, match: glob(p) };
  const m = /^([a-z][a-z0-9+.-]*):\/\/(\[[^\]]+\]|[^/:]+)(?::(\*|\d{1,5}))?(\/.*)?$/i.exec(p);
  if (!m) throw new Error(`invalid destination pattern "${source}": expected scheme://host[:port][/path] or arn:...`);
  const scheme = m[1]!.toLowerCase();
  if (!SCHEMES.has(scheme)) throw new Error(`invalid destination pattern "${source}": scheme must be http, https or s3`);
  let host = m[2]!.toLowerCase();
  let address: string | undefined;
  const literal = host.startsWith('[') ? host.slice(1, -1) : host;
  if (isIP(literal)) {
    address = canonicalAddress(literal);
    host = address;
  } else if (host.startsWith('[')) {
    throw new Error(`invalid destination pattern "${source}": ${host} is not an IPv6 address`);
  } else if (host !== '*' && !/^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*\.?$/.test(host)) {
    throw new Error(`invalid destination pattern "${source}": host must be a name, *.name, * or an IP address`);
  }
  const port = m[3] === undefined ? DEFAULT_PORTS[scheme] : m[3] === '*' ? undefined : Number(m[3]);
  if (port !== undefined && (port < 1 || port > 65535)) throw new Error(`invalid destination pattern "${source}": port out of range`);
  const pattern: UrlPattern = { kind: 'url', source: p, scheme, host, port, path: glob(m[4] ?? '/*') };
  if (address !== undefined) pattern.address = address;
  return pattern;
}

/** `--allow-destination` values (repeatable) plus KESTREL_ALLOW_DESTINATIONS (comma-separated). */
export function parseDestinationPatterns(values: Iterable<string>): DestinationPattern[] {
  const out: DestinationPattern[] = [];
  for (const v of values) for (const part of v.split(',')) if (part.trim() !== '') out.push(parseDestinationPattern(part));
  return out;
}

/** A destination URI split the way patterns see it (undefined when it is no URL or ARN). */
interface ParsedUri {
  scheme: string;
  host: string;
  address?: string;
  port: number;
  path: string;
}

function parseUri(uri: string): ParsedUri | undefined {
  if (!URL.canParse(uri)) return undefined;
  const u = new URL(uri);
  const scheme = u.protocol.slice(0, -1).toLowerCase();
  const defaultPort = DEFAULT_PORTS[scheme];
  if (defaultPort === undefined || u.hostname === '') return undefined;
  const raw = u.hostname.toLowerCase();
  const literal = raw.startsWith('[') ? raw.slice(1, -1) : raw;
  const parsed: ParsedUri = { scheme, host: raw, port: u.port === '' ? defaultPort : Number(u.port), path: u.pathname || '/' };
  if (isIP(literal)) {
    parsed.address = canonicalAddress(literal);
    parsed.host = parsed.address;
  }
  return parsed;
}

function hostMatches(pattern: UrlPattern, uri: ParsedUri): boolean {
  if (pattern.host === '*') return true;
  if (pattern.address !== undefined) return uri.address === pattern.address;
  if (uri.address !== undefined) return false;
  const host = uri.host.replace(/\.$/, '');
  const want = pattern.host.replace(/\.$/, '');
  if (want.startsWith('*.')) return host.endsWith(want.slice(1)) && host.length > want.length - 1;
  return host === want;
}

/** The patterns that admit `uri` (empty: refused). */
export function matchingPatterns(patterns: readonly DestinationPattern[], uri: string): DestinationPattern[] {
  if (/^arn:/i.test(uri)) return patterns.filter((p) => p.kind === 'arn' && p.match.test(uri));
  const parsed = parseUri(uri);
  if (!parsed) return [];
  return patterns.filter(
    (p) => p.kind === 'url' && p.scheme === parsed.scheme && (p.port === undefined || p.port === parsed.port) && hostMatches(p, parsed) && p.path.test(parsed.path),
  );
}

/** `*` = any run of characters; everything else literal; anchored. */
function glob(s: string): RegExp {
  return new RegExp(`^${s.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}
