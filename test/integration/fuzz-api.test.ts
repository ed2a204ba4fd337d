/**
 * Mutation fuzzer for the JSON and query-string surfaces (issue 8, item 10): control plane,
 * ListFragments, GetMedia, GetMediaForFragmentList, session URLs, GetClip/GetImages, HLS/DASH
 * playlist and segment query parameters, and /api/v1. A fixed seed mutates valid requests (type
 * confusion, dropped/extra keys, deep nesting, huge strings, broken JSON, odd query values) against
 * a real `kestrel serve` child process. Asserts: no 5xx, every request completes within a bound,
 * RSS bounded, and the stream it read from still plays afterwards.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedFetch } from '../support/auth.ts';
import { Rng, jsonText, mutateJson, mutateQueryValue, sampleRss, within } from '../support/fuzz.ts';
import { makeH264Mkv } from '../support/media.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { spawnScratchServer } from '../support/server-process.ts';

const SEED = 0xa9_1008;
const JSON_CASES = 220;
const QUERY_CASES = 140;
const REQUEST_BOUND_MS = 15_000;
const RSS_GROWTH_BOUND = 300 * 1024 * 1024;
const STREAM = 'api-s';
/** Mutated update/tag calls go to their own stream, so the one read from stays intact. */
const SCRATCH = 'api-scratch';

let server: Awaited<ReturnType<typeof spawnScratchServer>>;

beforeAll(async () => {
  server = await spawnScratchServer('kestrel-fuzz-api-', {
    // Hundreds of calls per second on two streams: lift KVS's per-stream call quota for the fuzzer.
    KESTREL_MAX_CALLS_PER_SECOND_PER_STREAM: '0',
  });
});

afterAll(async () => {
  await server?.stop();
});

async function postJson(op: string, body: unknown): Promise<Response> {
  return signedFetch(`${server.url}/${op}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

/** Valid request bodies per operation; each case mutates one of them. */
function jsonTemplates(now: number, fragments: string[]): Array<{ op: string; method?: string; body: unknown }> {
  const range = { StartTimestamp: now / 1000 - 3600, EndTimestamp: now / 1000 };
  return [
    { op: 'createStream', body: { StreamName: 'api-created', DataRetentionInHours: 1, MediaType: 'video/h264', Tags: { a: 'b' } } },
    { op: 'describeStream', body: { StreamName: STREAM } },
    { op: 'listStreams', body: { MaxResults: 10, StreamNameCondition: { ComparisonOperator: 'BEGINS_WITH', ComparisonValue: 'api' } } },
    { op: 'updateStream', body: { StreamName: SCRATCH, CurrentVersion: 'x', MediaType: 'video/h264' } },
    { op: 'updateDataRetention', body: { StreamName: SCRATCH, CurrentVersion: 'x', Operation: 'INCREASE_DATA_RETENTION', DataRetentionChangeInHours: 1 } },
    { op: 'getDataEndpoint', body: { StreamName: STREAM, APIName: 'GET_HLS_STREAMING_SESSION_URL' } },
    { op: 'tagStream', body: { StreamName: SCRATCH, Tags: { k: 'v' } } },
    { op: 'untagStream', body: { StreamName: SCRATCH, TagKeyList: ['k'] } },
    { op: 'listTagsForStream', body: { StreamName: STREAM } },
    { op: 'ListTagsForResource', body: { ResourceARN: 'arn:aws:kinesisvideo:us-east-1:000000000000:stream/api-s/1' } },
    { op: 'describeImageGenerationConfiguration', body: { StreamName: STREAM } },
    { op: 'describeNotificationConfiguration', body: { StreamName: STREAM } },
    { op: 'describeStreamStorageConfiguration', body: { StreamName: STREAM } },
    { op: 'deleteStream', body: { StreamName: 'api-never-created' } },
    { op: 'listFragments', body: { StreamName: STREAM, MaxResults: 5, FragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: range } } },
    { op: 'getMediaForFragmentList', body: { StreamName: STREAM, Fragments: fragments.slice(0, 2) } },
    { op: 'getMedia', body: { StreamName: STREAM, StartSelector: { StartSelectorType: 'FRAGMENT_NUMBER', AfterFragmentNumber: fragments[0] } } },
    { op: 'getHLSStreamingSessionURL', body: { StreamName: STREAM, PlaybackMode: 'ON_DEMAND', ContainerFormat: 'MPEG_TS', HLSFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: range }, Expires: 300, MaxMediaPlaylistFragmentResults: 10 } },
    { op: 'getDASHStreamingSessionURL', body: { StreamName: STREAM, PlaybackMode: 'ON_DEMAND', DASHFragmentSelector: { FragmentSelectorType: 'PRODUCER_TIMESTAMP', TimestampRange: { StartTimestamp: 0, EndTimestamp: now / 1000 } } } },
    { op: 'getClip', body: { StreamName: STREAM, ClipFragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: range } } },
    { op: 'getImages', body: { StreamName: STREAM, ImageSelectorType: 'SERVER_TIMESTAMP', StartTimestamp: now / 1000 - 3, EndTimestamp: now / 1000, SamplingInterval: 3000, Format: 'JPEG', MaxResults: 1 } },
    { op: `api/v1/streams/${STREAM}/detection`, method: 'PUT', body: { enabled: true, labels: ['person'], minScore: 0.5, zones: [] } },
    { op: `api/v1/streams/${SCRATCH}/detection`, method: 'PATCH', body: { enabled: false } },
  ];
}

/** Sends one request and reads its whole body (GetMedia: just the headers, its body is a live tail). */
async function send(url: string, init: RequestInit, streaming: boolean): Promise<number> {
  const abort = new AbortController();
  const res = await signedFetch(url, { ...init, signal: abort.signal });
  if (streaming) abort.abort();
  else await res.arrayBuffer();
  return res.status;
}

describe('JSON and query-string mutation fuzzer', () => {
  it(`${JSON_CASES} mutated JSON bodies and ${QUERY_CASES} mutated queries: no 5xx, no hang, bounded RSS, the stream still plays`, { timeout: 240_000 }, async () => {
    for (const s of [STREAM, SCRATCH]) expect((await postJson('createStream', { StreamName: s, DataRetentionInHours: 24 })).status).toBe(200);
    const mkv = fs.readFileSync(await makeH264Mkv({ seconds: 3, fps: 10, gop: 10, audio: true, size: '160x120' }));
    const put = await rawPutMedia(server.url, STREAM, [mkv]);
    expect(put.acks.filter((a) => a.EventType === 'ERROR')).toEqual([]);
    const fragments = put.acks.filter((a) => a.EventType === 'PERSISTED').map((a) => a.FragmentNumber!);
    expect(fragments.length).toBeGreaterThan(1);
    const now = Date.now();

    // Valid playback URLs to mutate: an fMP4 and a TS HLS session, and a DASH session.
    const range = { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: now / 1000 - 3600, EndTimestamp: now / 1000 } };
    const urls: URL[] = [];
    for (const container of ['FRAGMENTED_MP4', 'MPEG_TS']) {
      const r = await postJson('getHLSStreamingSessionURL', { StreamName: STREAM, PlaybackMode: 'ON_DEMAND', ContainerFormat: container, HLSFragmentSelector: range });
      expect(r.status).toBe(200);
      const master = new URL(((await r.json()) as { HLSStreamingSessionURL: string }).HLSStreamingSessionURL);
      const token = master.searchParams.get('SessionToken')!;
      const q = (s: string) => new URL(`${s}${s.includes('?') ? '&' : '?'}SessionToken=${encodeURIComponent(token)}`, master);
      urls.push(master, q('getHLSMediaPlaylist.m3u8?TrackNumber=1&_HLS_msn=1&_HLS_part=0'));
      if (container === 'MPEG_TS') urls.push(q(`getTSFragment.ts?FragmentNumber=${fragments[0]}`));
      else urls.push(q('getMP4InitFragment.mp4?TrackNumber=1&SequenceNumber=0'), q(`getMP4MediaFragment.mp4?FragmentNumber=${fragments[1]}&TrackNumber=1`), q(`getMP4MediaPart.mp4?FragmentNumber=${fragments[1]}&TrackNumber=1&Part=0`));
    }
    const dash = await postJson('getDASHStreamingSessionURL', { StreamName: STREAM, PlaybackMode: 'ON_DEMAND', DASHFragmentSelector: range });
    expect(dash.status).toBe(200);
    urls.push(new URL(((await dash.json()) as { DASHStreamingSessionURL: string }).DASHStreamingSessionURL));
    urls.push(new URL(`/api/v1/streams?limit=10`, server.url), new URL('/api/v1/events?stream=api-s&limit=5&since=0', server.url), new URL('/api/v1/events/summary?stream=api-s', server.url));
    urls.push(new URL('/api/v1/events/1', server.url), new URL('/api/v1/jobs?limit=5', server.url), new URL('/api/v1/jobs/1', server.url), new URL('/api/v1/jobs/1/result', server.url));
    for (const u of urls.filter((x) => x.pathname.includes('/v1/get') || x.pathname.endsWith('.mpd'))) {
      expect((await signedFetch(u)).status, u.toString()).toBe(200);
    }

    const rss = sampleRss(server.child.pid!);

    const rng = new Rng(SEED);
    const templates = jsonTemplates(now, fragments);
    type Case = { label: string; url: string; init: RequestInit; streaming: boolean };
    const cases: Case[] = [];
    for (let i = 0; i < JSON_CASES; i++) {
      const t = rng.pick(templates);
      const text = jsonText(rng, mutateJson(rng, t.body));
      const contentType = rng.int(8) === 0 ? rng.pick(['text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16']) : 'application/json';
      cases.push({ label: `json ${i} ${t.op} ${text.slice(0, 80)}`, url: `${server.url}/${t.op}`, init: { method: t.method ?? 'POST', headers: { 'content-type': contentType }, body: text }, streaming: t.op === 'getMedia' });
    }
    for (let i = 0; i < QUERY_CASES; i++) {
      const u = new URL(rng.pick(urls));
      const params = [...u.searchParams.keys()];
      const op = rng.int(4);
      if (op === 0 && params.length) u.searchParams.delete(rng.pick(params));
      else if (op === 1) u.searchParams.append(rng.pick(params.length ? params : ['x']), mutateQueryValue(rng, 'x'));
      else if (params.length) {
        const k = rng.pick(params);
        u.searchParams.set(k, mutateQueryValue(rng, u.searchParams.get(k) ?? ''));
      } else u.search = `?${mutateQueryValue(rng, 'a=b')}`;
      cases.push({ label: `query ${i} ${u.pathname}${u.search.slice(0, 120)}`, url: u.toString(), init: {}, streaming: false });
    }

    const failures: string[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < cases.length) {
        const c = cases[next++]!;
        try {
          const status = await within(REQUEST_BOUND_MS, c.label, send(c.url, c.init, c.streaming));
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status >= 500) failures.push(`${c.label}: HTTP ${status}`);
        } catch (err) {
          if ((err as Error).name !== 'AbortError') failures.push(`${c.label}: ${(err as Error).message}`);
        }
      }
    }));
    const { baseline: baselineRss, peak: peakRss } = rss.stop();

    expect(failures).toEqual([]);
    expect(server.child.exitCode).toBeNull();
    // Both outcomes were exercised: requests refused with 4xx and requests that still succeeded.
    const count = (from: number, to: number) => [...statuses].filter(([s]) => s >= from && s < to).reduce((n, [, c]) => n + c, 0);
    expect(count(400, 500), JSON.stringify([...statuses])).toBeGreaterThan((JSON_CASES + QUERY_CASES) / 3);
    expect(count(200, 300), JSON.stringify([...statuses])).toBeGreaterThan(20);
    expect(peakRss - baselineRss, `RSS ${baselineRss >> 20} MB → peak ${peakRss >> 20} MB`).toBeLessThan(RSS_GROWTH_BOUND);

    // The stream read from is intact: listed and playable.
    const listed = await postJson('listFragments', { StreamName: STREAM, FragmentSelector: range });
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { Fragments: unknown[] }).Fragments).toHaveLength(fragments.length);
    for (const u of urls.slice(0, 5)) expect((await signedFetch(u)).status, u.toString()).toBe(200);
  });
});
