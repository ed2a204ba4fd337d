import { describe, expect, it } from 'vitest';
import { DEFAULT_DETECT_CONFIG, resolveDetectConfig } from '../../../src/detect/detect-config.ts';
import { GetMediaSplitter } from '../../../src/detect/getmedia-source.ts';
import { LiveFeedSource } from '../../../src/detect/live-feed-source.ts';
import { LiveFeed, TAIL_CACHE } from '../../../src/store/live-feed.ts';
import type { FragmentRecord } from '../../../src/store/types.ts';
import { tagsElement } from '../../../src/mkv/index.ts';
import { mkvCluster, mkvHeader } from '../../support/synthetic-mkv.ts';

describe('detect config', () => {
  it('defaults and validation', () => {
    const c = resolveDetectConfig();
    expect(c.sampling).toBe(2);
    expect(c.scoreThreshold).toBe(0.5);
    expect(c.labels).toEqual(['person']);
    expect(c.motionGate).toBe(true);
    expect(resolveDetectConfig({ sampling: 'keyframes' }).sampling).toBe('keyframes');
    expect(() => resolveDetectConfig({ samplng: 2 } as never)).toThrow(/unknown option "samplng"/);
    expect(() => resolveDetectConfig({ sampling: 0 })).toThrow(/sampling/);
    expect(() => resolveDetectConfig({ zones: [{ name: 'z', points: [[0, 0], [1, 1]] }] })).toThrow(/3 points/);
    expect(DEFAULT_DETECT_CONFIG.labels).toEqual(['person']);
  });
});

describe('GetMediaSplitter', () => {
  it('splits a GetMedia payload into self-contained fragments with their tags and token', () => {
    const tag = (o: Record<string, string>) => tagsElement(Object.entries(o).map(([name, value]) => ({ name, value })) as never);
    const chunk = (n: number) => Buffer.concat([
      mkvHeader(),
      tag({ AWS_KINESISVIDEO_FRAGMENT_NUMBER: `frag${n}`, AWS_KINESISVIDEO_SERVER_TIMESTAMP: '1700000001.500', AWS_KINESISVIDEO_PRODUCER_TIMESTAMP: `170000000${n}.000` }),
      mkvCluster({ timecode: n * 1000 }),
      tag({ AWS_KINESISVIDEO_CONTINUATION_TOKEN: `frag${n}` }),
    ]);
    const payload = Buffer.concat([chunk(0), chunk(1)]);
    const s = new GetMediaSplitter('cam');
    const out = [...s.push(payload.subarray(0, 100)), ...s.push(payload.subarray(100))];
    expect(out.map((f) => [f.fragmentNumber, f.continuationToken, f.producerTimestampMs, f.serverTimestampMs])).toEqual([
      ['frag0', 'frag0', 1_700_000_000_000, 1_700_000_001_500],
      ['frag1', 'frag1', 1_700_000_001_000, 1_700_000_001_500],
    ]);
    expect(out[1]!.mkv).toEqual(Buffer.concat([mkvHeader(), mkvCluster({ timecode: 1000 })]));
  });
});

describe('LiveFeedSource', () => {
  it('resumes after the token from the buffer, then follows the feed', async () => {
    const feed = new LiveFeed();
    const rec = (n: number): FragmentRecord => ({ streamId: 7, fragmentNumber: `9100${n}`, producerTimestampMs: n * 1000, serverTimestampMs: n * 1000 + 5, durationMs: 1000, sizeBytes: 10, headerId: 1, location: {} as never, tags: {}, flags: 0 });
    const pub = (n: number) => feed.publish({ record: rec(n), header: mkvHeader(), body: mkvCluster({ timecode: n * 1000 }) }, TAIL_CACHE);
    pub(0);
    pub(1);
    const src = new LiveFeedSource({ feed, streamId: (s) => (s === 'cam' ? 7 : undefined) });
    const ac = new AbortController();
    const got: string[] = [];
    const reading = (async () => {
      for await (const f of src.fragments('cam', { continuationToken: '91000' }, ac.signal)) {
        got.push(f.fragmentNumber);
        expect(f.mkv.subarray(0, 4)).toEqual(Buffer.from([0x1a, 0x45, 0xdf, 0xa3]));
        if (got.length === 3) ac.abort();
      }
    })();
    await new Promise((r) => setTimeout(r, 20));
    pub(2);
    pub(3);
    await reading;
    expect(got).toEqual(['91001', '91002', '91003']);
  });
});
