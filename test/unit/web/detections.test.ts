import { describe, expect, it } from 'vitest';
import {
  boxToRect,
  containRect,
  mergeEvent,
  messageState,
  snapshotSrc,
  StreamClock,
  TrackBuffer,
  type EventMessage,
  type EventRow,
} from '../../../src/web/detections.js';

const norm = (left: number, top: number, width: number, height: number) => ({ left, top, width, height });

function msg(id: string, type: EventMessage['type'], frameTime: number, over: Partial<EventMessage> = {}): EventMessage {
  const box = { normalized: norm(0.1, 0.2, 0.3, 0.4) };
  return {
    id,
    type,
    label: 'person',
    score: 0.7,
    box,
    zone: null,
    fragmentNumbers: ['100'],
    producerTimestamp: frameTime,
    serverTimestamp: frameTime + 50,
    frameTime,
    snapshot: null,
    after: { score: 0.7, topScore: 0.7, box, startTime: 1000, endTime: type === 'end' ? frameTime : null, frameTime, fragmentNumber: '100' },
    ...over,
  };
}

function row(id: string, startTime: number, over: Partial<EventRow> = {}): EventRow {
  return { id, label: 'person', startTime, endTime: null, state: 'start', topScore: 0.6, zone: null, fragmentNumbers: ['1'], snapshot: null, updatedAt: startTime, ...over };
}

describe('containRect (object-fit: contain)', () => {
  it('pillarboxes a 4:3 video in a 16:9 box', () => {
    expect(containRect(1600, 900, 768, 576)).toEqual({ x: 200, y: 0, width: 1200, height: 900 });
  });
  it('letterboxes a 16:9 video in a 4:3 box', () => {
    expect(containRect(800, 600, 1920, 1080)).toEqual({ x: 0, y: 75, width: 800, height: 450 });
  });
  it('fills the box while the video size is unknown, and is empty for an empty box', () => {
    expect(containRect(640, 360, 0, 0)).toEqual({ x: 0, y: 0, width: 640, height: 360 });
    expect(containRect(0, 360, 640, 360)).toEqual({ x: 0, y: 0, width: 0, height: 0 });
  });
});

describe('boxToRect', () => {
  it('maps a normalised box into the displayed video rect (offset by the bars)', () => {
    const rect = containRect(1600, 900, 768, 576);
    expect(boxToRect(norm(0.5, 0.25, 0.25, 0.5), rect)).toEqual({ x: 200 + 600, y: 225, width: 300, height: 450 });
  });
  it('clamps boxes that stick out of the frame', () => {
    const r = boxToRect(norm(0.9, -0.1, 0.5, 0.3), { x: 0, y: 0, width: 100, height: 100 });
    expect(r.x).toBeCloseTo(90);
    expect(r.y).toBe(0);
    expect(r.width).toBeCloseTo(10);
    expect(r.height).toBeCloseTo(30);
  });
});

describe('mergeEvent', () => {
  it('keeps the list newest first and folds live messages into their row', () => {
    let list = [row('a', 1000), row('b', 3000)].sort((x, y) => y.startTime - x.startTime);
    list = mergeEvent(list, msg('c', 'start', 5000, { after: { ...msg('c', 'start', 5000).after, startTime: 5000 } }));
    expect(list.map((e) => e.id)).toEqual(['c', 'b', 'a']);
    list = mergeEvent(list, msg('a', 'update', 1500, { score: 0.9, after: { ...msg('a', 'update', 1500).after, topScore: 0.9, startTime: 1000 }, serverTimestamp: 2000 }));
    const a = list.find((e) => e.id === 'a')!;
    expect(a.topScore).toBe(0.9);
    expect(a.state).toBe('update');
    expect(list.map((e) => e.id)).toEqual(['c', 'b', 'a']);
  });

  it('an end is final: a late page row or update does not reopen the event', () => {
    let list = mergeEvent([], msg('a', 'end', 2000, { serverTimestamp: 9000, after: { ...msg('a', 'end', 2000).after, startTime: 1000, endTime: 2000 } }));
    expect(list[0]!.state).toBe('end');
    expect(list[0]!.endTime).toBe(2000);
    list = mergeEvent(list, row('a', 1000, { state: 'update', updatedAt: 9500 }));
    expect(list[0]!.state).toBe('end');
    list = mergeEvent(list, msg('a', 'update', 1800, { serverTimestamp: 9900 }));
    expect(list[0]!.state).toBe('end');
    expect(list).toHaveLength(1);
  });

  it('accumulates fragment numbers and keeps the last snapshot', () => {
    const snap = { clean: { key: 'k', url: '/snapshots/k.jpg' } };
    let list = mergeEvent([], msg('a', 'start', 1000, { snapshot: snap, fragmentNumbers: ['1'], after: { ...msg('a', 'start', 1000).after, fragmentNumber: '1' } }));
    list = mergeEvent(list, msg('a', 'update', 2000, { snapshot: null, fragmentNumbers: ['1', '2'], after: { ...msg('a', 'update', 2000).after, fragmentNumber: '2' } }));
    expect(list[0]!.fragmentNumbers).toEqual(['1', '2']);
    expect(snapshotSrc(list[0]!.snapshot)).toBe('snapshots/k.jpg');
  });
});

describe('StreamClock', () => {
  it('maps exactly through a listed fragment, else by the best offset estimate', () => {
    const clock = new StreamClock();
    // Producer clock 10 s behind the server; frames 0..900 ms into their fragments.
    for (const within of [700, 300, 900]) clock.observe({ frameTime: 50_000 + within, serverTimestamp: 60_000 });
    expect(clock.offset()).toBe(10_000 - 300);
    clock.setFragments([{ n: '7', t: 60_000, p: 50_000 }]);
    expect(clock.offset()).toBe(10_000);
    expect(clock.toServer(50_400, '7')).toBe(60_400);
    expect(clock.toServer(51_200)).toBe(61_200);
  });

  it('gives an event its start and end in server time', () => {
    const clock = new StreamClock();
    const ev = row('a', 1000, { state: 'end', endTime: 4000, fragmentNumbers: ['5'], latest: msg('a', 'end', 4000, { serverTimestamp: 103_500 }) });
    expect(clock.eventStart(ev)).toBe(100_500);
    clock.setFragments([{ n: '5', t: 100_800, p: 800 }]);
    expect(clock.eventStart(ev)).toBe(101_000);
    expect(clock.eventEnd(ev)).toBe(104_000);
  });
});

describe('TrackBuffer', () => {
  const b = (id: string, t: number, ended = false) => ({ id, label: 'person', score: 0.8, box: norm(0, 0, 0.1, 0.1), t, ended });

  it('shows a box from 1 s before its frame to 2 s after: per track the newest one not after the playing time', () => {
    const buf = new TrackBuffer();
    buf.add(b('a', 10_000));
    buf.add(b('a', 11_000));
    expect(buf.visible(8_500)).toEqual([]);
    expect(buf.visible(9_200).map((x) => x.t)).toEqual([10_000]);
    expect(buf.visible(10_500).map((x) => x.t)).toEqual([10_000]);
    expect(buf.visible(11_000).map((x) => x.t)).toEqual([11_000]);
    expect(buf.visible(12_900).map((x) => x.t)).toEqual([11_000]);
    expect(buf.visible(13_200)).toEqual([]);
  });

  it('bridges a gap between sparse states with the next one once the old one is stale', () => {
    const buf = new TrackBuffer();
    buf.add(b('a', 10_000));
    buf.add(b('a', 13_000));
    expect(buf.visible(12_500).map((x) => x.t)).toEqual([13_000]);
    expect(buf.visible(11_800).map((x) => x.t)).toEqual([10_000]);
  });

  it('hides a track once the playing time passes its end', () => {
    const buf = new TrackBuffer();
    buf.add(b('a', 10_000));
    buf.add(b('a', 10_500, true));
    buf.add(b('b', 10_400));
    expect(buf.visible(10_400).map((x) => x.id).sort()).toEqual(['a', 'b']);
    expect(buf.visible(10_600).map((x) => x.id)).toEqual(['b']);
    expect(buf.visible(Number.NaN)).toEqual([]);
  });

  it('forgets tracks far older than the newest box', () => {
    const buf = new TrackBuffer({ keepMs: 60_000 });
    buf.add(b('old', 1_000));
    buf.add(b('new', 100_000));
    expect(buf.size).toBe(1);
  });

  it('takes live messages through the clock', () => {
    const clock = new StreamClock();
    clock.setFragments([{ n: '100', t: 500_000, p: 4_000 }]);
    const s = messageState(msg('a', 'end', 4_600), clock);
    expect(s).toMatchObject({ id: 'a', t: 500_600, ended: true, score: 0.7, box: norm(0.1, 0.2, 0.3, 0.4) });
  });
});
