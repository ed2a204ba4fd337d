/**
 * Which IP addresses an API-set destination may reach: everything globally routable, nothing on the
 * server's own networks. Pure (node:net's BlockList and isIP do no I/O).
 */
import { BlockList, isIP } from 'node:net';

export type AddressClass =
  | 'public'
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'cgnat'
  | 'link-local'
  | 'metadata'
  | 'unique-local'
  | 'multicast'
  | 'reserved';

/** Most specific first: metadata before link-local, etc. IPv4 rules also match IPv4-mapped IPv6 (BlockList does that). */
const RULES: ReadonlyArray<[AddressClass, 'ipv4' | 'ipv6', string, number]> = [
  ['metadata', 'ipv4', '169.254.169.254', 32], // AWS/GCP/Azure instance metadata
  ['metadata', 'ipv4', '100.100.100.200', 32], // Alibaba Cloud metadata
  ['metadata', 'ipv6', 'fd00:ec2::254', 128], // AWS IMDS over IPv6
  ['unspecified', 'ipv4', '0.0.0.0', 8], // "this network"; 0.0.0.0 connects to the local host
  ['loopback', 'ipv4', '127.0.0.0', 8],
  ['private', 'ipv4', '10.0.0.0', 8],
  ['private', 'ipv4', '172.16.0.0', 12],
  ['private', 'ipv4', '192.168.0.0', 16],
  ['cgnat', 'ipv4', '100.64.0.0', 10],
  ['link-local', 'ipv4', '169.254.0.0', 16],
  ['reserved', 'ipv4', '192.0.0.0', 24], // IETF protocol assignments
  ['reserved', 'ipv4', '192.0.2.0', 24], // documentation (TEST-NET-1..3)
  ['reserved', 'ipv4', '198.51.100.0', 24],
  ['reserved', 'ipv4', '203.0.113.0', 24],
  ['reserved', 'ipv4', '198.18.0.0', 15], // benchmarking
  ['multicast', 'ipv4', '224.0.0.0', 4],
  ['reserved', 'ipv4', '240.0.0.0', 4], // incl. 255.255.255.255
  ['unspecified', 'ipv6', '::', 128],
  ['loopback', 'ipv6', '::1', 128],
  ['reserved', 'ipv6', '::', 96], // IPv4-compatible (deprecated)
  ['reserved', 'ipv6', '100::', 64], // discard-only
  ['reserved', 'ipv6', '2001:db8::', 32], // documentation
  ['unique-local', 'ipv6', 'fc00::', 7], // incl. fd00::/8
  ['link-local', 'ipv6', 'fe80::', 10],
  ['reserved', 'ipv6', 'fec0::', 10], // site-local (deprecated)
  ['multicast', 'ipv6', 'ff00::', 8],
];

const LISTS: ReadonlyArray<[AddressClass, BlockList]> = RULES.map(([cls, family, net, prefix]) => {
  const list = new BlockList();
  list.addSubnet(net, prefix, family);
  return [cls, list];
});

/** Classifies an IP literal (IPv4, IPv6, IPv4-mapped/NAT64/6to4 IPv6 by the IPv4 inside). Throws for a non-IP. */
export function classifyAddress(address: string): AddressClass {
  const ip = stripBrackets(address);
  const family = isIP(ip);
  if (family === 0) throw new Error(`not an IP address: ${address}`);
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const [cls, list] of LISTS) if (list.check(ip, type)) return cls;
  if (family === 6) {
    const embedded = embeddedIPv4(ip);
    if (embedded) return classifyAddress(embedded);
  }
  return 'public';
}

/** True when the address is globally routable (the only kind an API-set destination reaches by default). */
export function isPublicAddress(address: string): boolean {
  return classifyAddress(address) === 'public';
}

/** The same address in one canonical spelling (IPv6 expanded and lower-case, mapped IPv4 as IPv4), to compare literals. */
export function canonicalAddress(address: string): string {
  const ip = stripBrackets(address);
  const family = isIP(ip);
  if (family === 4) return ip;
  if (family !== 6) throw new Error(`not an IP address: ${address}`);
  const words = ipv6Words(ip);
  if (words.slice(0, 5).every((w) => w === 0) && words[5] === 0xffff) return wordsToIPv4(words[6]!, words[7]!);
  return words.map((w) => w.toString(16)).join(':');
}

/** NAT64 (64:ff9b::/96) and 6to4 (2002::/16) carry an IPv4 address that decides where packets end up. */
function embeddedIPv4(ip: string): string | undefined {
  const w = ipv6Words(ip);
  if (w[0] === 0x64 && w[1] === 0xff9b && w.slice(2, 6).every((x) => x === 0)) return wordsToIPv4(w[6]!, w[7]!);
  if (w[0] === 0x2002) return wordsToIPv4(w[1]!, w[2]!);
  return undefined;
}

function wordsToIPv4(hi: number, lo: number): string {
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
}

/** Eight 16-bit words of an IPv6 literal (handles `::` and a trailing dotted IPv4; zone ids dropped). */
function ipv6Words(ip: string): number[] {
  let s = ip.toLowerCase().split('%')[0]!;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(s);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    s = `${s.slice(0, -dotted[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = s.includes('::') ? (s.split('::') as [string, string]) : [s, undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => parseInt(h, 16)));
  const hi = parse(head);
  const lo = tail === undefined ? [] : parse(tail);
  return [...hi, ...new Array<number>(8 - hi.length - lo.length).fill(0), ...lo];
}

function stripBrackets(a: string): string {
  return a.startsWith('[') && a.endsWith(']') ? a.slice(1, -1) : a;
}
