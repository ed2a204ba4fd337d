/**
 * `kestrel ingest` forwards frames as they are captured: from a real-time RTSP camera with 4 s
 * GOPs, the LL-HLS playlist lists the arriving fragment's parts one after the other while that
 * fragment (its GOP) is still being captured — the first part (the key frame) long before the
 * fragment is complete. When ffmpeg wrote one cluster per GOP, a whole GOP reached the server at
 * once and its parts all appeared together with the finished segment.
 */
import { KinesisVideoArchivedMediaClient, ListFragmentsCommand } from '@aws-sdk/client-kinesis-video-archived-media';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runIngest } from '../../src/cli/ingest.ts';
import { testCredentials } from '../support/auth.ts';
import { signedFetch } from '../support/auth.ts';
import { makeH264Mkv } from '../support/media.ts';
import { mediaPlaylistUrl, parseLl, text, type LlPlaylist } from '../support/playlists.ts';
import { rtspServerAvailable, startRtspServer, type RtspServer } from '../support/rtsp-server.ts';
import { sdkConfig, startTestServer, type TestServer } from '../support/server.ts';
import { firstValue } from '../support/wait.ts';


/** Probes may fail while the stream is not there yet: a failure counts as not yet. */
const waitFor = <T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> =>
  firstValue(what, () => probe().catch(() => undefined), timeoutMs);

describe.skipIf(!rtspServerAvailable())('kestrel ingest: frames as they are captured', () => {
  let srv: TestServer;
  let camera: RtspServer;
  const stop = new AbortController();
  let ingesting: Promise<void> | undefined;
  const log: string[] = [];

  beforeAll(async () => {
    // A security-camera-like source: 25 fps, 4 s GOPs, no B-frames, served in real time over RTSP; small, so
    // that a whole GOP fits one pipe read (a GOP sent at once then reaches the server in one piece).
    const clip = await makeH264Mkv({ seconds: 120, fps: 25, gop: 100, bframes: 0, size: '160x120' });
    [srv, camera] = await Promise.all([startTestServer(), startRtspServer({ file: clip })]);
  });
  afterAll(async () => {
    stop.abort();
    await ingesting?.catch(() => {});
    await camera?.stop();
    await srv?.close();
  });

  it('lists parts of the arriving GOP one by one, before the GOP is complete', { timeout: 180_000 }, async () => {
    ingesting = runIngest({ source: camera.url, stream: 'cam', endpoint: srv.url, create: true, credentials: testCredentials, signal: stop.signal, log: (m) => log.push(m) });

    const master = await waitFor('an LL-HLS session', async () => {
      const res = await signedFetch(`${srv.url}/getHLSStreamingSessionURL`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-kestrel-low-latency': '1' },
        body: JSON.stringify({ StreamName: 'cam', PlaybackMode: 'LIVE' }),
      });
      return res.status === 200 ? ((await res.json()) as { HLSStreamingSessionURL: string }).HLSStreamingSessionURL : undefined;
    });
    const mediaUrl = mediaPlaylistUrl(await text(master), master);
    const complete = (pl: LlPlaylist, msn: number) => pl.segments.some((s) => s.msn === msn);
    // A blocking reload is held for three target durations, then answered 503 (LL-HLS): ask again.
    const reload = async (msn: number, part: number): Promise<LlPlaylist> => {
      for (let i = 0; ; i++) {
        const res = await fetch(`${mediaUrl}&_HLS_msn=${msn}&_HLS_part=${part}`);
        if (res.status === 200) return parseLl(await res.text());
        expect(res.status, await res.text()).toBe(503);
        if (i >= 10) throw new Error(`part ${msn}.${part} never became available`);
      }
    };

    // Wait for a fragment that starts arriving while we watch: its part 0 listed, the fragment not complete.
    let pl = parseLl(await text(mediaUrl));
    const target = pl.last.msn + 1;
    pl = await reload(target, 0);
    expect(complete(pl, target), `fragment ${target} was already complete when its first part was listed:\n${pl.text}`).toBe(false);
    const firstPart = pl.text.split('\n').find((l) => l.startsWith('#EXT-X-PART:') && l.includes(pl.parts.find((p) => p.msn === target)!.uri));
    expect(firstPart).toContain('INDEPENDENT=YES'); // the GOP's key frame

    // The key frame's part is served while the GOP is still being captured.
    const partUrl = new URL(pl.parts.find((p) => p.msn === target && p.part === 0)!.uri, mediaUrl).toString();
    const bytes = Buffer.from(await (await fetch(partUrl)).arrayBuffer());
    expect(bytes.subarray(4, 8).toString()).toBe('moof');

    // Then the same fragment grows part by part while still incomplete: each blocking reload asks for
    // the part after the last one listed and is answered when it exists. A GOP that reached the
    // server in one piece would be listed with all its parts at once (one growth step at most).
    const partsOf = (p: LlPlaylist) => p.parts.filter((x) => x.msn === target).length;
    const growth = new Set<number>([partsOf(pl)]);
    for (let i = 0; !complete(pl, target); i++) {
      if (i > 40) throw new Error(`fragment ${target} never completed:\n${pl.text}`);
      pl = await reload(target, partsOf(pl));
      if (!complete(pl, target)) growth.add(partsOf(pl));
    }
    // A 4 s GOP is ~12 parts of ~333 ms: at least half of them were listed in steps of their own
    // (a GOP sent whole reaches the server in one or two pipe reads: one or two steps).
    expect(growth.size, `part counts seen while fragment ${target} was arriving: ${[...growth].join(', ')}`).toBeGreaterThanOrEqual(6);
    expect(Math.min(...growth)).toBeLessThan(partsOf(pl));

    // One fragment per GOP, not per frame: stored fragments are 4 s long.
    const kvam = new KinesisVideoArchivedMediaClient(sdkConfig(srv.url));
    try {
      const out = await kvam.send(
        new ListFragmentsCommand({
          StreamName: 'cam',
          FragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: new Date(0), EndTimestamp: new Date(Date.now() + 60_000) } },
        }),
      );
      const lengths = (out.Fragments ?? []).map((f) => f.FragmentLengthInMilliseconds!);
      expect(lengths.length).toBeGreaterThanOrEqual(2);
      // (The first one may be cut short by where the camera's stream began.)
      for (const ms of lengths.slice(1)) expect(ms).toBeGreaterThanOrEqual(3900);
    } finally {
      kvam.destroy();
    }
    expect(log.join('\n')).toMatch(/first fragment persisted/);
  });
});
