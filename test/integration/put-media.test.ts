import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';
import { rawPutMedia } from '../support/raw-put-media.ts';
import { fragmentTags, mkvCluster, mkvClusters, mkvHeader, pieces, AUDIO_TRACK, VIDEO_TRACK } from '../support/synthetic-mkv.ts';
import { clusterElement, simpleBlock, tagsElement } from '../../src/mkv/index.ts';
import { signedFetch, signedPutMediaHeaders } from '../support/auth.ts';

let srv: TestServer;

async function createStream(name: string, retention = 24): Promise<void> {
  const r = await signedFetch(`${srv.url}/createStream`, { method: 'POST', body: JSON.stringify({ StreamName: name, DataRetentionInHours: retention }) });
  expect(r.status).toBe(200);
}

async function listFragments(name: string) {
  const r = await signedFetch(`${srv.url}/listFragments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ StreamName: name, FragmentSelector: { FragmentSelectorType: 'SERVER_TIMESTAMP', TimestampRange: { StartTimestamp: 0, EndTimestamp: 4e9 } } }),
  });
  expect(r.status).toBe(200);
  return ((await r.json()) as { Fragments: Array<{ FragmentNumber: string; ProducerTimestamp: number; FragmentLengthInMilliseconds: number; FragmentSizeInBytes: number }> }).Fragments.sort((a, b) => a.FragmentNumber.localeCompare(b.FragmentNumber));
}

beforeAll(async () => {
  srv = await startTestServer();
});
afterAll(async () => {
  await srv.close();
});

describe('PutMedia ACKs', () => {
  it('sends BUFFERING, RECEIVED, PERSISTED per cluster with the raw timecode and increasing 47-digit numbers', async () => {
    await createStream('acks');
    const body = Buffer.concat([mkvHeader(), ...mkvClusters(5, 1_700_000_000_000)]);
    const res = await rawPutMedia(srv.url, 'acks', pieces(body, 777));
    expect(res.status).toBe(200);
    expect(res.headers['x-amzn-requestid']).toBeTruthy();
    // ACKs of consecutive fragments may interleave (persisting is pipelined), but per fragment
    // the order is always BUFFERING → RECEIVED → PERSISTED.
    const byFragment = new Map<string, string[]>();
    for (const a of res.acks) byFragment.set(a.FragmentNumber!, [...(byFragment.get(a.FragmentNumber!) ?? []), a.EventType]);
    expect([...byFragment.values()]).toEqual(Array.from({ length: 5 }, () => ['BUFFERING', 'RECEIVED', 'PERSISTED']));
    const persisted = res.acks.filter((a) => a.EventType === 'PERSISTED');
    expect(persisted.map((a) => a.FragmentTimecode)).toEqual([0, 1, 2, 3, 4].map((i) => 1_700_000_000_000 + i * 1000));
    const numbers = persisted.map((a) => a.FragmentNumber!);
    for (const n of numbers) expect(n).toMatch(/^\d{47}$/);
    expect([...numbers].sort()).toEqual(numbers);
    expect(new Set(numbers).size).toBe(5);
    const listed = await listFragments('acks');
    expect(listed.map((f) => f.FragmentNumber)).toEqual(numbers);
    expect(listed[0]!.ProducerTimestamp).toBe(1_700_000_000);
    expect(listed[0]!.FragmentLengthInMilliseconds).toBe(1000);
  });

  it('writes every ACK as its own HTTP chunk of at most 1024 bytes', async () => {
    await createStream('chunks');
    const body = Buffer.concat([mkvHeader(), ...mkvClusters(3, 10_000)]);
    const raw = await new Promise<string>((resolve, reject) => {
      const url = new URL(srv.url);
      const sock = net.connect(Number(url.port), url.hostname);
      let data = '';
      sock.on('data', (d) => (data += d.toString('latin1')));
      sock.on('end', () => resolve(data));
      sock.on('error', reject);
      const signed = signedPutMediaHeaders(`${srv.url}/putMedia`, { 'x-amzn-stream-name': 'chunks', 'x-amzn-fragment-timecode-type': 'ABSOLUTE' });
      const head = Object.entries(signed).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      sock.write(`POST /putMedia HTTP/1.1\r\nHost: ${url.host}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n${head}\r\n`);
      sock.write(`${body.length.toString(16)}\r\n`);
      sock.write(body);
      sock.write('\r\n0\r\n\r\n');
    });
    const payload = raw.slice(raw.indexOf('\r\n\r\n') + 4);
    const chunks: string[] = [];
    let pos = 0;
    for (;;) {
      const eol = payload.indexOf('\r\n', pos);
      const size = parseInt(payload.slice(pos, eol), 16);
      if (!size) break;
      chunks.push(payload.slice(eol + 2, eol + 2 + size));
      pos = eol + 2 + size + 2;
    }
    expect(chunks).toHaveLength(9);
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(1024);
      expect(Object.keys(JSON.parse(c) as object)).toEqual(['EventType', 'FragmentTimecode', 'FragmentNumber']);
    }
  });

  it('handles producer-SDK style unknown-size clusters, end-of-fragment markers and fragment metadata', async () => {
    await createStream('pic');
    const eofr = tagsElement([{ name: 'AWS_KINESISVIDEO_END_OF_FRAGMENT', value: '' }]);
    const body = Buffer.concat([
      mkvHeader({ tracks: [VIDEO_TRACK, AUDIO_TRACK] }),
      mkvCluster({ timecode: 5000, tracks: [1, 2], unknownSize: true }),
      fragmentTags([{ name: 'camera', value: 'front-door' }, { name: 'AWS_KINESISVIDEO_NOTIFICATION', value: '' }]),
      eofr,
      mkvCluster({ timecode: 6000, tracks: [1, 2], unknownSize: true }),
      eofr,
    ]);
    const res = await rawPutMedia(srv.url, 'pic', pieces(body, 100));
    expect(res.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(2);
    expect(res.acks.some((a) => a.EventType === 'ERROR')).toBe(false);
  });

  it('RELATIVE timecodes add the producer start timestamp', async () => {
    await createStream('relative');
    const body = Buffer.concat([mkvHeader(), ...mkvClusters(2, 0)]);
    const res = await rawPutMedia(srv.url, 'relative', [body], {
      'x-amzn-fragment-timecode-type': 'RELATIVE',
      'x-amzn-producer-start-timestamp': '1704164645.678',
    });
    expect(res.acks.filter((a) => a.EventType === 'PERSISTED').map((a) => a.FragmentTimecode)).toEqual([0, 1000]);
    const listed = await listFragments('relative');
    expect(listed.map((f) => f.ProducerTimestamp)).toEqual([1704164645.678, 1704164646.678]);
  });

  it('accepts a new EBML header mid-body (codec change) and keeps numbering', async () => {
    await createStream('restart');
    const body = Buffer.concat([mkvHeader(), mkvCluster({ timecode: 1000 }), mkvHeader(), mkvCluster({ timecode: 2000 })]);
    const res = await rawPutMedia(srv.url, 'restart', [body]);
    expect(res.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(2);
  });
});

describe('PutMedia without ACKs', () => {
  it('stores fragments but sends no ACKs when the producer asks for none (x-amzn-fragment-acknowledgment-required: 0)', async () => {
    await createStream('noacks');
    const res = await rawPutMedia(srv.url, 'noacks', [Buffer.concat([mkvHeader(), ...mkvClusters(2, 0)])], { 'x-amzn-fragment-acknowledgment-required': '0' });
    expect(res.status).toBe(200);
    expect(res.acks).toEqual([]);
    expect(await listFragments('noacks')).toHaveLength(2);
  });
});

describe('PutMedia HTTP errors', () => {
  it('answers 404 ResourceNotFoundException for an unknown stream before reading the body', async () => {
    const res = await rawPutMedia(srv.url, 'no-such-stream', [mkvHeader()]);
    expect(res.status).toBe(404);
    expect(res.headers['x-amzn-errortype']).toMatch(/^ResourceNotFoundException/);
  });

  it('gives a second concurrent producer ConnectionLimitExceededException while the first keeps working', async () => {
    await createStream('busy');
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    async function* slow() {
      yield Buffer.concat([mkvHeader(), mkvCluster({ timecode: 1000 })]);
      await gate;
      yield mkvCluster({ timecode: 2000 });
    }
    const first = rawPutMedia(srv.url, 'busy', slow());
    await new Promise((r) => setTimeout(r, 300));
    const second = await rawPutMedia(srv.url, 'busy', [mkvHeader()]);
    expect(second.status).toBe(400);
    expect(second.headers['x-amzn-errortype']).toMatch(/^ConnectionLimitExceededException/);
    release();
    const done = await first;
    expect(done.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(2);
  });

  it('rejects a header that names both stream name and ARN, or a bad timecode type', async () => {
    await createStream('hdr');
    const both = await rawPutMedia(srv.url, 'hdr', [mkvHeader()], { 'x-amzn-stream-arn': 'arn:aws:kinesisvideo:us-east-1:000000000000:stream/hdr/1' });
    expect(both.status).toBe(400);
    const badType = await rawPutMedia(srv.url, 'hdr', [mkvHeader()], { 'x-amzn-fragment-timecode-type': 'SIDEWAYS' });
    expect(badType.status).toBe(400);
    expect(badType.headers['x-amzn-errortype']).toMatch(/^InvalidArgumentException/);
  });
});

describe('PutMedia bad input gets an ERROR ACK and harms nothing else', () => {
  async function errorFor(stream: string, body: Buffer[] | AsyncIterable<Buffer>) {
    await createStream(stream);
    const res = await rawPutMedia(srv.url, stream, body);
    expect(res.status).toBe(200);
    const errors = res.acks.filter((a) => a.EventType === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(res.acks.at(-1)!.EventType).toBe('ERROR');
    return { error: errors[0]!, acks: res.acks };
  }

  it('garbage ⇒ 4006 INVALID_MKV_DATA', async () => {
    const { error } = await errorFor('garbage', [Buffer.from('this is not matroska at all, just text')]);
    expect(error).toMatchObject({ ErrorId: 4006, ErrorCode: 'INVALID_MKV_DATA' });
  });

  it('a truncated cluster at the end of the body ⇒ 4006, after the complete fragments persisted', async () => {
    const good = mkvClusters(2, 1000);
    const cut = mkvCluster({ timecode: 3000 }).subarray(0, 500);
    const { error, acks } = await errorFor('truncated', [Buffer.concat([mkvHeader(), ...good, cut])]);
    expect(error.ErrorId).toBe(4006);
    expect(acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(2);
  });

  it('decreasing or equal timecodes ⇒ 4004', async () => {
    const { error, acks } = await errorFor('backwards', [Buffer.concat([mkvHeader(), mkvCluster({ timecode: 5000 }), mkvCluster({ timecode: 4000 })])]);
    expect(error).toMatchObject({ ErrorId: 4004, ErrorCode: 'FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS', FragmentTimecode: 4000 });
    expect(acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(1);
  });

  it('a cluster longer than 20 s ⇒ 4002', async () => {
    const long = mkvCluster({ timecode: 0, frames: 30, frameIntervalMs: 800 });
    const { error } = await errorFor('toolong', [Buffer.concat([mkvHeader(), long])]);
    expect(error).toMatchObject({ ErrorId: 4002, ErrorCode: 'MAX_FRAGMENT_DURATION_REACHED' });
  });

  it('an element claiming a multi-GB size ⇒ 4001 at once, without buffering what follows', async () => {
    const before = process.memoryUsage().arrayBuffers;
    const huge = Buffer.concat([Buffer.from([0x1f, 0x43, 0xb6, 0x75]), Buffer.from([0x01, 0, 0, 0x01, 0, 0, 0, 0])]); // Cluster of 4 GiB
    // One chunk sent 50 times: the client's own allocations must not count as server buffering
    // (the server drains a bounded amount after the ERROR, so the client may send them all).
    const chunk = Buffer.alloc(1 << 20, 7);
    async function* body() {
      yield Buffer.concat([mkvHeader(), huge]);
      for (let i = 0; i < 50; i++) {
        yield chunk;
        await new Promise((r) => setTimeout(r, 2));
      }
    }
    const { error } = await errorFor('huge', body());
    expect(error).toMatchObject({ ErrorId: 4001, ErrorCode: 'MAX_FRAGMENT_SIZE_REACHED' });
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(40 * 1024 * 1024);
  });

  it('a block for an undeclared track ⇒ 4010; more than 3 tracks ⇒ 4012; too many tags ⇒ 4009', async () => {
    const stray = clusterElement({ timecode: 0, children: [simpleBlock({ track: 9, relativeTimecode: 0, keyframe: true, frame: Buffer.alloc(10) })] });
    expect((await errorFor('stray', [Buffer.concat([mkvHeader(), stray])])).error.ErrorId).toBe(4010);
    const four = [VIDEO_TRACK, { ...AUDIO_TRACK, number: 2 }, { ...AUDIO_TRACK, number: 3 }, { ...AUDIO_TRACK, number: 4 }];
    expect((await errorFor('fourtracks', [mkvHeader({ tracks: four })])).error.ErrorId).toBe(4012);
    const tags = fragmentTags(Array.from({ length: 11 }, (_, i) => ({ name: `t${i}`, value: 'v' })));
    expect((await errorFor('manytags', [Buffer.concat([mkvHeader(), mkvCluster({ timecode: 0, unknownSize: true }), tags])])).error.ErrorId).toBe(4009);
  });

  it('a declared track without frames in a fragment ⇒ 4011', async () => {
    const body = Buffer.concat([mkvHeader({ tracks: [VIDEO_TRACK, AUDIO_TRACK] }), mkvCluster({ timecode: 0, tracks: [1] })]);
    expect((await errorFor('missingtrack', [body])).error.ErrorId).toBe(4011);
  });

  it('other streams keep ingesting while bad producers fail', async () => {
    await createStream('healthy');
    const good = rawPutMedia(srv.url, 'healthy', (async function* () {
      yield mkvHeader();
      for (let i = 0; i < 6; i++) {
        yield mkvCluster({ timecode: 1000 * i });
        await new Promise((r) => setTimeout(r, 20));
      }
    })());
    await Promise.all([
      errorFor('bad1', [Buffer.from('garbage garbage garbage')]),
      errorFor('bad2', [Buffer.concat([mkvHeader(), mkvCluster({ timecode: 9000 }), mkvCluster({ timecode: 1 })])]),
    ]);
    const res = await good;
    expect(res.acks.filter((a) => a.EventType === 'PERSISTED')).toHaveLength(6);
    expect(res.acks.some((a) => a.EventType === 'ERROR')).toBe(false);
  });
});
