import { describe, expect, it } from 'vitest';
import { matchingPatterns, parseDestinationPattern, parseDestinationPatterns } from '../../../src/outbound/destination-patterns.ts';
import { DestinationPolicy } from '../../../src/outbound/destination-policy.ts';

const admits = (pattern: string, uri: string) => matchingPatterns([parseDestinationPattern(pattern)], uri).length > 0;

describe('destination patterns', () => {
  it('scheme, host and the default port must match', () => {
    expect(admits('https://hooks.example.com/*', 'https://hooks.example.com/a/b')).toBe(true);
    expect(admits('https://hooks.example.com/*', 'https://HOOKS.example.com./a')).toBe(true);
    expect(admits('https://hooks.example.com/*', 'http://hooks.example.com/a')).toBe(false);
    expect(admits('https://hooks.example.com/*', 'https://hooks.example.com:8443/a')).toBe(false);
    expect(admits('https://hooks.example.com/*', 'https://hooks.example.com:443/a')).toBe(true);
    expect(admits('https://hooks.example.com/*', 'https://evil.example.com/a')).toBe(false);
    expect(admits('https://hooks.example.com/*', 'https://hooks.example.com.evil.net/a')).toBe(false);
    expect(admits('https://hooks.example.com/*', 'https://hooks.example.com@evil.net/a')).toBe(false);
  });

  it('ports: explicit or *', () => {
    expect(admits('http://hooks.example.com:8080/*', 'http://hooks.example.com:8080/x')).toBe(true);
    expect(admits('http://hooks.example.com:8080/*', 'http://hooks.example.com/x')).toBe(false);
    expect(admits('http://hooks.example.com:*/*', 'http://hooks.example.com:1234/x')).toBe(true);
  });

  it('host wildcards: *.suffix (subdomains only) and *', () => {
    expect(admits('https://*.example.com/*', 'https://a.b.example.com/x')).toBe(true);
    expect(admits('https://*.example.com/*', 'https://example.com/x')).toBe(false);
    expect(admits('https://*.example.com/*', 'https://badexample.com/x')).toBe(false);
    expect(admits('https://*/*', 'https://anything.test/x')).toBe(true);
    // A host wildcard never "names" an address, but it admits IP literals as URLs (their address is checked on connect).
    expect(admits('https://*/*', 'https://10.0.0.1/x')).toBe(true);
    expect(admits('https://*.example.com/*', 'https://10.0.0.1/x')).toBe(false);
  });

  it('path glob: * spans slashes, the rest is literal and anchored; omitted path = any', () => {
    expect(admits('https://h.example.com/hooks/*', 'https://h.example.com/hooks/a/b')).toBe(true);
    expect(admits('https://h.example.com/hooks/*', 'https://h.example.com/admin')).toBe(false);
    expect(admits('https://h.example.com/hooks/*', 'https://h.example.com/hooks/../admin')).toBe(false);
    expect(admits('https://h.example.com/hooks/*', 'https://h.example.com/hooks/%2e%2e/admin')).toBe(false);
    expect(admits('https://h.example.com/in', 'https://h.example.com/in?x=1')).toBe(true);
    expect(admits('https://h.example.com/in', 'https://h.example.com/in/more')).toBe(false);
    expect(admits('https://h.example.com/a.b', 'https://h.example.com/aXb')).toBe(false);
    expect(admits('https://h.example.com', 'https://h.example.com/any/path')).toBe(true);
  });

  it('IP literals match the same address however it is spelled', () => {
    expect(admits('http://127.0.0.1:*/*', 'http://127.0.0.1:9000/x')).toBe(true);
    expect(admits('http://127.0.0.1:*/*', 'http://2130706433:9000/x')).toBe(true);
    expect(admits('http://127.0.0.1:*/*', 'http://[::ffff:127.0.0.1]:9000/x')).toBe(true);
    expect(admits('http://[fd00::5]:8080/*', 'http://[fd00:0::5]:8080/x')).toBe(true);
    expect(admits('http://127.0.0.1:*/*', 'http://localhost:9000/x')).toBe(false);
    expect(admits('http://localhost:*/*', 'http://127.0.0.1:9000/x')).toBe(false);
    expect(parseDestinationPattern('http://[FD00::5]/*')).toMatchObject({ kind: 'url', address: 'fd00:0:0:0:0:0:0:5' });
    expect(parseDestinationPattern('http://localhost/*')).not.toHaveProperty('address');
  });

  it('s3 and SNS topic ARN patterns', () => {
    expect(admits('s3://kvs-images/*', 's3://kvs-images/cam/x')).toBe(true);
    expect(admits('s3://kvs-images/*', 's3://other/cam')).toBe(false);
    expect(admits('arn:aws:sns:*:123456789012:*', 'arn:aws:sns:us-east-1:123456789012:topic')).toBe(true);
    expect(admits('arn:aws:sns:*:123456789012:*', 'arn:aws:sns:us-east-1:999999999999:topic')).toBe(false);
    expect(admits('https://*/*', 'arn:aws:sns:us-east-1:123456789012:topic')).toBe(false);
  });

  it('bad patterns are refused with the reason', () => {
    expect(() => parseDestinationPattern('hooks.example.com')).toThrow(/expected scheme:\/\/host/);
    expect(() => parseDestinationPattern('ftp://x/*')).toThrow(/scheme must be http, https or s3/);
    expect(() => parseDestinationPattern('http://x:70000/*')).toThrow(/port out of range/);
    expect(() => parseDestinationPattern('http://ex*ample.com/*')).toThrow(/host must be/);
    expect(() => parseDestinationPattern('http://[nope]/*')).toThrow(/not an IPv6/);
    expect(parseDestinationPatterns(['https://a.example.com/*, https://b.example.com/*', '', 'arn:aws:sns:*'])).toHaveLength(3);
  });
});

describe('DestinationPolicy', () => {
  it('http(s) destinations need a pattern; the message names the flag', () => {
    const none = new DestinationPolicy([]);
    const verdict = none.checkApiDestination('https://hooks.example.com/x');
    expect(verdict.ok).toBe(false);
    expect(!verdict.ok && verdict.reason).toMatch(/--allow-destination/);
    expect(new DestinationPolicy(['https://hooks.example.com/*']).checkApiDestination('https://hooks.example.com/x')).toEqual({ ok: true });
    expect(none.checkApiDestination('http:/\\127.0.0.1/x').ok).toBe(false);
    // Not a kind Kestrel ever calls: stored as KVS does, skipped (and logged) at delivery.
    expect(none.checkApiDestination('gopher://x/y').ok).toBe(true);
  });

  it('s3 buckets and SNS ARNs pass until the operator restricts that kind', () => {
    const open = new DestinationPolicy(['https://hooks.example.com/*']);
    expect(open.checkApiDestination('s3://any-bucket/p').ok).toBe(true);
    expect(open.checkApiDestination('arn:aws:sns:us-east-1:123456789012:t').ok).toBe(true);
    const restricted = new DestinationPolicy(['s3://mine/*', 'arn:aws:sns:*:123456789012:*']);
    expect(restricted.checkApiDestination('s3://mine/p').ok).toBe(true);
    expect(restricted.checkApiDestination('s3://theirs/p').ok).toBe(false);
    expect(restricted.checkApiDestination('arn:aws:sns:us-east-1:999999999999:t').ok).toBe(false);
  });

  it('addresses: public always; private only when a matching pattern names that address', () => {
    const policy = new DestinationPolicy(['http://127.0.0.1:8080/*', 'http://localhost:8080/*', 'https://*/*']);
    const viaLiteral = policy.addressFilter('http://127.0.0.1:8080/x');
    expect(viaLiteral('127.0.0.1')).toBe(true);
    expect(viaLiteral('::ffff:127.0.0.1')).toBe(true);
    expect(viaLiteral('10.0.0.1')).toBe(false);
    const viaName = policy.addressFilter('http://localhost:8080/x');
    expect(viaName('127.0.0.1')).toBe(false);
    expect(viaName('93.184.216.34')).toBe(true);
    const anyHttps = policy.addressFilter('https://rebind.example.com/x');
    expect(anyHttps('169.254.169.254')).toBe(false);
    expect(anyHttps('fd00::1')).toBe(false);
    expect(anyHttps('0.0.0.0')).toBe(false);
  });
});
