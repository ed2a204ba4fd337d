/**
 * /healthz, /readyz and /metrics on a real server: health needs no auth and says nothing sensitive;
 * readiness turns 503 when the media folder stops taking writes; /metrics needs its token, and its
 * counters move with real PutMedia, GetMedia and HLS traffic.
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedFetch, signedHeaders } from '../support/auth.ts';
import { makeH264Mkv } from '../support/media.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { mkvCluster, mkvClusters, mkvHeader, pieces } from '../support/synthetic-mkv.ts';
import { FakeDetector, squareVideo } from '../unit/detect/fixtures.ts';
import { firstValue } from '../support/wait.ts';

const TOKEN = 'metrics-token-for-tests-0123456789';
let srv: TestServer;
let bare: TestServer;

beforeAll(async () => {
  [srv, bare] = await Promise.all([startTestServer({ ops: { metricsToken: TOKEN } }), startTestServer()]);
});
afterAll(async () => {
  await Promise.all([srv?.close(), bare?.close()]);
});

async function scrape(server = srv): Promise<string> {
  const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
  expect(res.status).toBe(200);
  return res.text();
}

function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(series + ' '));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

async function kvs(op: string, body: unknown): Promise<Record<string, unknown>> {
  const res = await signedFetch(`${srv.url}/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await res.text();
  expect(res.status, `${op}: ${res.status} ${text}`).toBe(200);
  return JSON.parse(text) as Record<string, unknown>;
}

describe('health and readiness', () => {
  it('/healthz answers without credentials', async () => {
    const res = await fetch(`${bare.url}/healthz`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('ok\n');
    expect(res.headers.get('cache-control')).toBe('no-store');
  });

  it('/readyz is 200 while the index and disk take writes, 503 with reasons (no paths) when not', async () => {
    const ok = await fetch(`${bare.url}/readyz`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ status: 'ready' });

    // The media folder becomes a file: appends (and the probe) fail with ENOTDIR.
    const media = path.join(bare.dataDir, 'media');
    fs.rmSync(media, { recursive: true, force: true });
    fs.writeFileSync(media, 'not a folder');
    const failed = await firstValue('readyz 503', async () => {
      const res = await fetch(`${bare.url}/readyz`);
      return res.status === 503 ? ((await res.json()) as { status: string; failing: string[] }) : undefined;
    });
    expect(failed).toEqual({ status: 'not ready', failing: ['disk: not writable (ENOTDIR)'] });
    expect(JSON.stringify(failed)).not.toContain(bare.dataDir);
    expect((await fetch(`${bare.url}/healthz`)).status).toBe(200);

    fs.rmSync(media);
    fs.mkdirSync(media);
    await firstValue('readyz 200 again', async () => ((await fetch(`${bare.url}/readyz`)).status === 200 ? true : undefined));
  });
});

describe('/metrics', () => {
  it('is refused without a configured token, and without or with a wrong bearer token', async () => {
    const disabled = await fetch(`${bare.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(disabled.status).toBe(403);
    expect(await disabled.text()).toMatch(/--metrics-token/);
    const missing = await fetch(`${srv.url}/metrics`);
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect((await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}x` } })).status).toBe(401);
    expect((await fetch(`${srv.url}/metrics`, { headers: { authorization: `Basic ${TOKEN}` } })).status).toBe(401);
    const text = await scrape();
    expect(text).toMatch(/^# TYPE kestrel_ingest_fragments_total counter$/m);
    expect(sample(text, 'kestrel_refused_requests_total{reason="metrics_auth"}')).toBeGreaterThanOrEqual(3);
    expect(sample(text, 'kestrel_disk_free_bytes')).toBeGreaterThan(0);
  });

  it('counts persisted fragments, bytes, PERSISTED latency and ERROR ACKs of a real PutMedia', async () => {
    await kvs('createStream', { StreamName: 'ops-cam', DataRetentionInHours: 24 });
    const good = await rawPutMedia(srv.url, 'ops-cam', pieces(Buffer.concat([mkvHeader(), ...mkvClusters(3, 1_700_000_000_000)]), 4096));
    expect(good.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(3);
    let text = await scrape();
    expect(sample(text, 'kestrel_ingest_fragments_total{stream="ops-cam"}')).toBe(3);
    expect(sample(text, 'kestrel_ingest_bytes_total{stream="ops-cam"}')).toBeGreaterThan(3 * 25 * 1000);
    expect(sample(text, 'kestrel_ingest_persist_latency_seconds_count')).toBe(3);

    const bad = await rawPutMedia(srv.url, 'ops-cam', [Buffer.concat([mkvHeader(), mkvCluster({ timecode: 1_700_000_010_000 }), mkvCluster({ timecode: 1_700_000_009_000 })])]);
    expect(bad.acks.at(-1)).toMatchObject({ EventType: 'ERROR', ErrorId: 4004 });
    text = await scrape();
    expect(sample(text, 'kestrel_ingest_errors_total{stream="ops-cam",code="FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS"}')).toBe(1);
    expect(sample(text, 'kestrel_ingest_fragments_total{stream="ops-cam"}')).toBe(4);
  });

  it('tracks open GetMedia readers and counts HLS requests by kind', async () => {
    const { DataEndpoint } = (await kvs('getDataEndpoint', { StreamName: 'ops-cam', APIName: 'GET_MEDIA' })) as { DataEndpoint: string };
    const body = JSON.stringify({ StreamName: 'ops-cam', StartSelector: { StartSelectorType: 'NOW' } });
    const headers = signedHeaders('POST', `${DataEndpoint}/getMedia`, { 'content-type': 'application/json' }, Buffer.from(body));
    const req = http.request(`${DataEndpoint}/getMedia`, { method: 'POST', headers });
    req.on('error', () => {});
    req.end(body);
    await firstValue('one GetMedia reader', async () => (sample(await scrape(), 'kestrel_getmedia_active_readers') === 1 ? true : undefined));
    req.destroy();
    await firstValue('no GetMedia reader', async () => (sample(await scrape(), 'kestrel_getmedia_active_readers') === 0 ? true : undefined));

    // HLS needs real H.264 (the synthetic clusters carry no SPS).
    await kvs('createStream', { StreamName: 'ops-hls', DataRetentionInHours: 24 });
    const put = await rawPutMedia(srv.url, 'ops-hls', pieces(fs.readFileSync(await makeH264Mkv({ seconds: 2, bframes: 0 })), 64 * 1024));
    expect(put.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(2);
    const { HLSStreamingSessionURL: url } = (await kvs('getHLSStreamingSessionURL', {
      StreamName: 'ops-hls',
      PlaybackMode: 'ON_DEMAND',
      HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: Date.now() / 1000 - 3600, EndTimestamp: Date.now() / 1000 - 0.001 } },
    })) as { HLSStreamingSessionURL: string };
    expect((await fetch(url)).status).toBe(200);
    expect((await fetch(url.replace('getHLSMasterPlaylist.m3u8', 'getNothing.m3u8'))).status).toBeGreaterThanOrEqual(400);
    const text = await scrape();
    expect(sample(text, 'kestrel_playback_requests_total{protocol="hls",kind="session_url",status="2xx"}')).toBe(1);
    expect(sample(text, 'kestrel_playback_requests_total{protocol="hls",kind="master_playlist",status="2xx"}')).toBe(1);
    expect(sample(text, 'kestrel_playback_requests_total{protocol="hls",kind="other",status="4xx"}')).toBe(1);
    expect(sample(text, 'kestrel_queue_depth{queue="outbox"}')).toBe(0);
  });

  it('a deleted stream\'s series disappear', async () => {
    const { StreamInfo } = (await kvs('describeStream', { StreamName: 'ops-cam' })) as { StreamInfo: { StreamARN: string } };
    await kvs('deleteStream', { StreamARN: StreamInfo.StreamARN });
    expect(sample(await scrape(), 'kestrel_ingest_fragments_total{stream="ops-cam"}')).toBeUndefined();
  });
});

describe('/metrics with in-process detection', () => {
  it('counts detected frames and their latency', async () => {
    const detecting = await startTestServer({
      ops: { metricsToken: TOKEN },
      detection: { enabled: true, detector: new FakeDetector(), detect: { sampling: 4 }, discoveryIntervalMs: 3_600_000 },
    });
    try {
      const video = await squareVideo(2, 0, 2);
      const create = await signedFetch(`${detecting.url}/createStream`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ StreamName: 'ops-detect', DataRetentionInHours: 1 }) });
      expect(create.status).toBe(200);
      const t0 = Date.now();
      await rawPutMedia(detecting.url, 'ops-detect', [video.header, ...video.clusters], {
        'x-amzn-fragment-timecode-type': 'RELATIVE', 'x-amzn-producer-start-timestamp': (t0 / 1000).toFixed(3),
      });
      const text = await firstValue('detected frames', async () => {
        const t = await scrape(detecting);
        return (sample(t, 'kestrel_detection_frames_total') ?? 0) >= 4 ? t : undefined;
      }, 30_000);
      expect(sample(text, 'kestrel_detection_latency_seconds_count')).toBeGreaterThanOrEqual(4);
      expect(sample(text, 'kestrel_queue_depth{queue="detection_frames"}')).toBeGreaterThanOrEqual(0);
    } finally {
      await detecting.close();
    }
  }, 60_000);
});
