import { describe, expect, it } from 'vitest';
import { authorize, operationOf, streamNameOf } from '../../../src/auth/policy.ts';
import { inScope } from '../../../src/auth/identity-rules.ts';
import { isLoopbackHost } from '../../../src/auth/bootstrap.ts';
import type { Principal, Role } from '../../../src/auth/types.ts';

const as = (role: Role, producerScope?: string[]): Principal => ({ user: 'u', role, via: 'sigv4', ...(producerScope ? { producerScope } : {}) });
const allowed = (p: Principal, method: string, path: string, stream?: string) => authorize(p, operationOf(method, path), stream).allowed;

describe('authorization policy', () => {
  it('maps roles to KVS operations', () => {
    for (const op of ['/listStreams', '/describeStream', '/getMedia', '/listFragments', '/getClip', '/getHLSStreamingSessionURL']) {
      expect(allowed(as('viewer'), 'POST', op, 'cam'), op).toBe(true);
    }
    for (const op of ['/createStream', '/deleteStream', '/updateNotificationConfiguration', '/putMedia', '/TagResource']) {
      expect(allowed(as('viewer'), 'POST', op, 'cam'), op).toBe(false);
      expect(allowed(as('operator'), 'POST', op, 'cam'), op).toBe(true);
      expect(allowed(as('admin'), 'POST', op, 'cam'), op).toBe(true);
    }
  });

  it('lets a producer PutMedia, DescribeStream and GetDataEndpoint only in its scope', () => {
    const p = as('producer', ['cam-1', 'garage-*']);
    for (const op of ['/putMedia', '/describeStream', '/getDataEndpoint']) {
      expect(allowed(p, 'POST', op, 'cam-1'), op).toBe(true);
      expect(allowed(p, 'POST', op, 'garage-east'), op).toBe(true);
      expect(allowed(p, 'POST', op, 'cam-10'), op).toBe(false);
      expect(allowed(p, 'POST', op, undefined), op).toBe(false);
    }
    for (const op of ['/listStreams', '/deleteStream', '/getMedia', '/createStream']) expect(allowed(p, 'POST', op, 'cam-1'), op).toBe(false);
    expect(allowed(p, 'GET', '/api/v1/events')).toBe(false);
  });

  it("guards Kestrel's API and denies unknown routes to all but admins", () => {
    expect(allowed(as('viewer'), 'GET', '/api/v1/events')).toBe(true);
    expect(allowed(as('viewer'), 'GET', '/snapshots/a/b.jpg')).toBe(true);
    expect(allowed(as('viewer'), 'POST', '/api/v1/jobs')).toBe(false);
    expect(allowed(as('operator'), 'POST', '/api/v1/jobs/j1/cancel')).toBe(true);
    expect(allowed(as('operator'), 'PUT', '/api/v1/streams/cam/detection')).toBe(true);
    expect(allowed(as('operator'), 'GET', '/api/v1/users')).toBe(false);
    expect(allowed(as('operator'), 'DELETE', '/api/v1/keys/K')).toBe(false);
    expect(allowed(as('admin'), 'GET', '/api/v1/users')).toBe(true);
    expect(allowed(as('operator'), 'DELETE', '/api/v1/something-new')).toBe(false);
    expect(allowed(as('admin'), 'DELETE', '/api/v1/something-new')).toBe(true);
    expect(operationOf('GET', '/metrics').need).toBe('admin');
  });

  it('needs nothing for the viewer files and session-token playback URLs, and something for everything else', () => {
    const anon: Principal = { via: 'none' };
    for (const [m, p] of [['GET', '/'], ['GET', '/ui/app.js'], ['GET', '/hls/v1/getHLSMasterPlaylist.m3u8'], ['GET', '/dash/v1/getDASHManifest.mpd'], ['OPTIONS', '/getHLSStreamingSessionURL']]) {
      expect(allowed(anon, m!, p!), p).toBe(true);
    }
    for (const [m, p] of [['POST', '/listStreams'], ['GET', '/api/v1/streams'], ['POST', '/hls/v1/x'], ['GET', '/snapshots/x']]) {
      expect(allowed(anon, m!, p!), p).toBe(false);
    }
  });

  it('reads the stream from StreamName or an ARN, and matches scopes exactly or by prefix', () => {
    expect(streamNameOf({ StreamName: 'a' })).toBe('a');
    expect(streamNameOf({ StreamARN: 'arn:aws:kinesisvideo:us-east-1:000000000000:stream/front-door/1700000000000' })).toBe('front-door');
    expect(streamNameOf({ ResourceARN: 'arn:aws:kinesisvideo:us-east-1:0:stream/x/1' })).toBe('x');
    expect(streamNameOf({ StreamARN: 'arn:aws:s3:::bucket' })).toBeUndefined();
    expect(inScope(['a', 'b-*'], 'b-')).toBe(true);
    expect(inScope(['a', 'b-*'], 'ab')).toBe(false);
    expect(inScope(undefined, 'a')).toBe(false);
  });

  it('knows loopback hosts (where --insecure-no-auth may run)', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '192.168.1.2', 'example.com', '128.0.0.1']) expect(isLoopbackHost(h), h).toBe(false);
  });
});
