/**
 * SigV4 signer and verifier: the AWS test-suite vector `get-vanilla`, requests captured from the
 * real AWS SDK v3 client, the presigned form, and the refusals (scope, clock, tampering).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KinesisVideoClient, ListStreamsCommand, DescribeStreamCommand } from '@aws-sdk/client-kinesis-video';
import { canonicalRequest, EMPTY_SHA256, presignUrl, sha256Hex, signature, signHeaders, stringToSign, UNSIGNED_PAYLOAD } from '../../../src/auth/sigv4.ts';
import { checkScopeAndTime, parseSigV4, verifySignature, type WireRequest } from '../../../src/auth/sigv4-verify.ts';

const VANILLA = {
  method: 'GET',
  path: '/',
  query: '',
  headers: [['Host', 'example.amazonaws.com'], ['X-Amz-Date', '20150830T123600Z']] as Array<[string, string]>,
};
const SUITE_SECRET = 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY';

describe('SigV4 test suite: get-vanilla', () => {
  it('builds the published canonical request, string to sign and signature', () => {
    const canonical = canonicalRequest({ ...VANILLA, signedHeaders: ['host', 'x-amz-date'], payloadHash: EMPTY_SHA256 });
    expect(canonical).toBe('GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\n' + EMPTY_SHA256);
    const toSign = stringToSign('20150830T123600Z', '20150830/us-east-1/service/aws4_request', canonical);
    expect(toSign.split('\n')[3]).toBe('bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63');
    expect(signature(SUITE_SECRET, '20150830', 'us-east-1', 'service', toSign)).toBe('5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31');
  });

  it('verifies the published Authorization header and refuses it with another secret', () => {
    const req: WireRequest = {
      ...VANILLA,
      headers: [...VANILLA.headers, ['Authorization', 'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31']],
    };
    const auth = parseSigV4(req)!;
    expect(auth).toMatchObject({ form: 'header', accessKeyId: 'AKIDEXAMPLE', region: 'us-east-1', service: 'service' });
    expect(() => checkScopeAndTime(auth, { region: 'us-east-1', service: 'service', nowMs: Date.UTC(2015, 7, 30, 12, 40) })).not.toThrow();
    expect(() => verifySignature(auth, req, SUITE_SECRET, [EMPTY_SHA256])).not.toThrow();
    expect(() => verifySignature(auth, req, SUITE_SECRET + 'x', [EMPTY_SHA256])).toThrow(/does not match/);
  });
});

describe('requests signed by the real AWS SDK v3', () => {
  const captured: Array<{ req: WireRequest; body: Buffer }> = [];
  let server: http.Server;
  let url = '';
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const u = new URL(req.url!, 'http://x');
        const headers: Array<[string, string]> = [];
        for (let i = 0; i < req.rawHeaders.length; i += 2) headers.push([req.rawHeaders[i]!, req.rawHeaders[i + 1]!]);
        captured.push({ req: { method: req.method!, path: u.pathname, query: req.url!.split('?')[1] ?? '', headers }, body: Buffer.concat(chunks) });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"StreamInfoList":[]}');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('verifies ListStreams and DescribeStream with the real body hash, and refuses a tampered body', async () => {
    const creds = { accessKeyId: 'AKIDSDKTEST', secretAccessKey: 'sdk-secret/with+chars' };
    const kv = new KinesisVideoClient({ endpoint: url, region: 'eu-west-1', credentials: creds, maxAttempts: 1 });
    await kv.send(new ListStreamsCommand({ MaxResults: 5 }));
    await kv.send(new DescribeStreamCommand({ StreamName: 'cam/1 ü' })).catch(() => undefined);
    kv.destroy();
    expect(captured).toHaveLength(2);
    for (const { req, body } of captured) {
      const auth = parseSigV4(req)!;
      expect(auth.region).toBe('eu-west-1');
      expect(auth.service).toBe('kinesisvideo');
      checkScopeAndTime(auth, { region: 'eu-west-1', service: 'kinesisvideo', nowMs: Date.now() });
      verifySignature(auth, req, creds.secretAccessKey, [sha256Hex(body)]);
      expect(() => verifySignature(auth, req, creds.secretAccessKey, [sha256Hex(Buffer.concat([body, Buffer.from(' ')]))])).toThrow(/does not match/);
      expect(() => checkScopeAndTime(auth, { region: 'us-east-1', service: 'kinesisvideo', nowMs: Date.now() })).toThrow(/valid region, not 'eu-west-1'/);
    }
  });
});

describe('our signer', () => {
  const creds = { accessKeyId: 'AKIDOURS', secretAccessKey: 'ours' };
  const wire = (target: string, headers: Record<string, string>, method = 'POST'): WireRequest => {
    const u = new URL(target);
    return { method, path: u.pathname, query: u.search.slice(1), headers: [['host', u.host], ...Object.entries(headers)] };
  };

  it('header form round-trips, with and without x-amz-content-sha256', () => {
    for (const sendContentSha256 of [false, true]) {
      const headers = signHeaders({ method: 'POST', url: 'http://127.0.0.1:9/putMedia', headers: { 'x-amzn-stream-name': 'cam' }, payloadHash: EMPTY_SHA256, sendContentSha256, credentials: creds, region: 'us-east-1' });
      const req = wire('http://127.0.0.1:9/putMedia', headers);
      verifySignature(parseSigV4(req)!, req, creds.secretAccessKey, [EMPTY_SHA256]);
      expect(() => verifySignature(parseSigV4(req)!, wire('http://127.0.0.1:9/putMedia', { ...headers, 'x-amzn-stream-name': 'other' }), creds.secretAccessKey, [EMPTY_SHA256])).toThrow(/does not match/);
    }
  });

  it('presigned form round-trips, expires, and refuses a changed parameter', () => {
    const now = Date.UTC(2026, 0, 1);
    const signed = presignUrl({ method: 'POST', url: 'http://127.0.0.1:9/putMedia?x-amzn-stream-name=cam%201', payloadHash: UNSIGNED_PAYLOAD, credentials: creds, region: 'us-east-1', expiresSec: 3600, nowMs: now });
    const req = wire(signed, {});
    const auth = parseSigV4(req)!;
    expect(auth).toMatchObject({ form: 'query', expiresSec: 3600, accessKeyId: 'AKIDOURS' });
    verifySignature(auth, req, creds.secretAccessKey, [UNSIGNED_PAYLOAD]);
    checkScopeAndTime(auth, { region: 'us-east-1', service: 'kinesisvideo', nowMs: now + 3599_000 });
    expect(() => checkScopeAndTime(auth, { region: 'us-east-1', service: 'kinesisvideo', nowMs: now + 3601_000 })).toThrow(/^Signature expired/);
    const tampered = wire(signed.replace('cam%201', 'cam%202'), {});
    expect(() => verifySignature(parseSigV4(tampered)!, tampered, creds.secretAccessKey, [UNSIGNED_PAYLOAD])).toThrow(/does not match/);
  });

  it('refuses a clock more than 15 minutes off in either direction', () => {
    const now = Date.UTC(2026, 0, 1, 12);
    const headers = signHeaders({ method: 'POST', url: 'http://h/listStreams', payloadHash: EMPTY_SHA256, credentials: creds, region: 'us-east-1', nowMs: now });
    const auth = parseSigV4(wire('http://h/listStreams', headers))!;
    const check = (at: number) => () => checkScopeAndTime(auth, { region: 'us-east-1', service: 'kinesisvideo', nowMs: at });
    expect(check(now + 14 * 60_000)).not.toThrow();
    expect(check(now + 16 * 60_000)).toThrow(/^Signature expired: 20260101T120000Z is now earlier than/);
    expect(check(now - 16 * 60_000)).toThrow(/^Signature not yet current/);
  });

  it('reports malformed authorization as IncompleteSignatureException and no SigV4 as undefined', () => {
    expect(parseSigV4({ headers: [], query: '' })).toBeUndefined();
    expect(parseSigV4({ headers: [['authorization', 'Bearer x']], query: 'a=b' })).toBeUndefined();
    expect(() => parseSigV4({ headers: [['authorization', 'AWS4-HMAC-SHA256 Credential=a/b/c/d/aws4_request'], ['x-amz-date', '20260101T000000Z']], query: '' })).toThrow(
      expect.objectContaining({ code: 'IncompleteSignatureException' }),
    );
  });
});
