import { describe, expect, it } from 'vitest';
import { parseServeArgs } from '../../../src/cli/serve.ts';
import { parseExpires, presignPutMedia } from '../../../src/cli/presign.ts';
import { clientCredentials, CREDENTIAL_FLAGS } from '../../../src/cli/credentials.ts';
import { parseArgs, UsageError } from '../../../src/cli/args.ts';
import { UNSIGNED_PAYLOAD } from '../../../src/auth/sigv4.ts';
import { checkScopeAndTime, parseSigV4, verifySignature } from '../../../src/auth/sigv4-verify.ts';

describe('kestrel serve auth flags', () => {
  it('reads the root key and admin password from flags or env, in pairs', () => {
    expect(parseServeArgs([], {}).auth).toEqual({ insecureNoAuth: false });
    expect(parseServeArgs(['--access-key-id', 'AKID1', '--secret-access-key', 'secret-1'], { KESTREL_ADMIN_PASSWORD: 'password-1', KESTREL_SERVER_KEY: 'ab'.repeat(32) }).auth).toEqual({
      insecureNoAuth: false, rootAccessKeyId: 'AKID1', rootSecretAccessKey: 'secret-1', adminPassword: 'password-1', serverKey: 'ab'.repeat(32),
    });
    expect(parseServeArgs([], { KESTREL_ACCESS_KEY_ID: 'AKID2', KESTREL_SECRET_ACCESS_KEY: 'secret-2' }).auth).toMatchObject({ rootAccessKeyId: 'AKID2', rootSecretAccessKey: 'secret-2' });
    expect(() => parseServeArgs(['--access-key-id', 'AKID1'], {})).toThrow(/give both --access-key-id and --secret-access-key/);
    expect(() => parseServeArgs([], { KESTREL_ADMIN_PASSWORD: 'short' })).toThrow(UsageError);
  });

  it('allows --insecure-no-auth on loopback only', () => {
    expect(parseServeArgs(['--insecure-no-auth'], {}).auth?.insecureNoAuth).toBe(true);
    expect(parseServeArgs(['--host', '::1'], { KESTREL_INSECURE_NO_AUTH: '1' }).auth?.insecureNoAuth).toBe(true);
    for (const host of ['0.0.0.0', '192.168.1.5', '::']) {
      expect(() => parseServeArgs(['--insecure-no-auth', '--host', host], {})).toThrow(/refused unless the server binds to a loopback address/);
    }
  });
});

describe('client credentials', () => {
  const creds = (argv: string[], env: NodeJS.ProcessEnv) => clientCredentials(parseArgs(argv, [], [...CREDENTIAL_FLAGS]), env);
  it('takes flags, else KESTREL_*, else AWS_*, else a usage error', () => {
    const env = { KESTREL_ACCESS_KEY_ID: 'k', KESTREL_SECRET_ACCESS_KEY: 'ks', AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'as' };
    expect(creds(['--access-key-id', 'f', '--secret-access-key', 'fs'], env)).toEqual({ accessKeyId: 'f', secretAccessKey: 'fs' });
    expect(creds([], env)).toEqual({ accessKeyId: 'k', secretAccessKey: 'ks' });
    expect(creds([], { AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'as' })).toEqual({ accessKeyId: 'a', secretAccessKey: 'as' });
    expect(() => creds([], { KESTREL_ACCESS_KEY_ID: 'k' })).toThrow(/no credentials/);
    expect(() => creds(['--access-key-id', 'f'], env)).toThrow(/give both/);
  });
});

describe('kestrel presign put-media', () => {
  it('parses durations up to 7 days', () => {
    expect(parseExpires('3600')).toBe(3600);
    expect(parseExpires('90s')).toBe(90);
    expect(parseExpires('30m')).toBe(1800);
    expect(parseExpires('24h')).toBe(86400);
    expect(parseExpires('7d')).toBe(604800);
    for (const bad of ['8d', '0', 'soon', '1w', '-5m']) expect(() => parseExpires(bad), bad).toThrow(UsageError);
  });

  it('signs a URL the verifier accepts until it expires, stream name and timecode type included', () => {
    const now = Date.UTC(2026, 5, 1, 12);
    const credentials = { accessKeyId: 'AKIDPRESIGN', secretAccessKey: 'presign-secret' };
    const url = presignPutMedia({ endpoint: 'http://127.0.0.1:8080/', stream: 'front door', expiresSec: 600, credentials, region: 'us-east-1', nowMs: now });
    const u = new URL(url);
    expect(u.pathname).toBe('/putMedia');
    expect(u.searchParams.get('x-amzn-stream-name')).toBe('front door');
    expect(u.searchParams.get('x-amzn-fragment-timecode-type')).toBe('ABSOLUTE');
    const wire = { method: 'POST', path: u.pathname, query: url.slice(url.indexOf('?') + 1), headers: [['host', u.host]] as Array<[string, string]> };
    const auth = parseSigV4(wire)!;
    verifySignature(auth, wire, credentials.secretAccessKey, [UNSIGNED_PAYLOAD]);
    checkScopeAndTime(auth, { region: 'us-east-1', service: 'kinesisvideo', nowMs: now + 599_000 });
    expect(() => checkScopeAndTime(auth, { region: 'us-east-1', service: 'kinesisvideo', nowMs: now + 601_000 })).toThrow(/Signature expired/);
  });
});
