import { describe, expect, it } from 'vitest';
import { BoxReader, type BoxDisposition, type BoxHeader, type Mp4Box } from '../../../src/mp4/box-reader.ts';
import { Mp4Error } from '../../../src/mp4/errors.ts';

function box(type: string, payload: Buffer | string): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const h = Buffer.alloc(8);
  h.writeUInt32BE(8 + body.length, 0);
  h.write(type, 4, 'latin1');
  return Buffer.concat([h, body]);
}

function largeBox(type: string, payload: Buffer): Buffer {
  const h = Buffer.alloc(16);
  h.writeUInt32BE(1, 0);
  h.write(type, 4, 'latin1');
  h.writeBigUInt64BE(BigInt(16 + payload.length), 8);
  return Buffer.concat([h, payload]);
}

function reader(opts: { maxBoxSize?: number; skip?: string[] } = {}) {
  const boxes: Mp4Box[] = [];
  const headers: BoxHeader[] = [];
  const r = new BoxReader({
    maxBoxSize: opts.maxBoxSize ?? 1 << 20,
    disposition: (h): BoxDisposition => {
      headers.push(h);
      return opts.skip?.includes(h.type) ? 'skip' : 'read';
    },
    onBox: (b) => boxes.push(b),
  });
  return { r, boxes, headers };
}

function feed(r: BoxReader, input: Buffer, step: number): void {
  for (let i = 0; i < input.length; i += step) r.push(input.subarray(i, i + step));
}

const summary = (boxes: Mp4Box[]) => boxes.map((b) => ({ type: b.type, offset: b.offset, size: b.size, hex: b.bytes.toString('hex') }));

describe('BoxReader', () => {
  const input = Buffer.concat([box('ftyp', 'isom'), largeBox('moof', Buffer.from('fragment-header')), box('mdat', Buffer.alloc(300, 7)), box('free', '')]);

  it('frames 32-bit and 64-bit boxes identically for any chunk size', () => {
    const whole = reader();
    whole.r.push(input);
    whole.r.end();
    expect(whole.boxes.map((b) => [b.type, b.offset, b.size, b.headerSize])).toEqual([
      ['ftyp', 0, 12, 8],
      ['moof', 12, 31, 16],
      ['mdat', 43, 308, 8],
      ['free', 351, 8, 8],
    ]);
    expect(Buffer.concat(whole.boxes.map((b) => b.bytes)).equals(input)).toBe(true);
    for (const step of [1, 3, 7, 100]) {
      const chunked = reader();
      feed(chunked.r, input, step);
      chunked.r.end();
      expect(summary(chunked.boxes)).toEqual(summary(whole.boxes));
    }
  });

  it('streams skipped boxes through without buffering them', () => {
    const { r, boxes } = reader({ skip: ['mdat'] });
    const mdat = box('mdat', Buffer.alloc(5000));
    r.push(mdat.subarray(0, 100));
    expect(r.bufferedBytes).toBe(0);
    r.push(Buffer.concat([mdat.subarray(100), box('moof', 'x')]));
    r.end();
    expect(boxes.map((b) => b.type)).toEqual(['moof']);
  });

  it('reads a size-0 box to the end of the stream', () => {
    const { r, boxes } = reader();
    const h = Buffer.alloc(8);
    h.write('mdat', 4, 'latin1');
    feed(r, Buffer.concat([box('moof', 'm'), h, Buffer.alloc(50, 1)]), 9);
    expect(boxes.map((b) => b.type)).toEqual(['moof']);
    r.end();
    expect(boxes[1]).toMatchObject({ type: 'mdat', size: 58, headerSize: 8 });
  });

  it('rejects a box claiming 4 GB from its header alone, without buffering', () => {
    const { r } = reader({ maxBoxSize: 50 * 1024 * 1024 });
    const h = Buffer.from('fffffff06d646174', 'hex'); // size 0xFFFFFFF0, 'mdat'
    let err: unknown;
    try {
      r.push(h);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(Mp4Error);
    expect(err).toMatchObject({ kind: 'too-large' });
    expect((err as Error).message).toMatch(/mdat.*4294967280 bytes/);
    expect(r.bufferedBytes).toBe(0);
    expect(() => r.push(Buffer.alloc(1))).toThrow(Mp4Error); // dead after an error
  });

  it('rejects a largesize beyond 2^53 as too large', () => {
    const { r } = reader();
    const h = Buffer.alloc(16);
    h.writeUInt32BE(1, 0);
    h.write('moof', 4, 'latin1');
    h.writeBigUInt64BE(1n << 62n, 8);
    expect(() => r.push(h)).toThrow(expect.objectContaining({ kind: 'too-large' }));
  });

  it('rejects garbage type bytes on sight and sizes smaller than the header', () => {
    expect(() => reader().r.push(Buffer.from([0, 0, 0, 20, 0xde, 0xad]))).toThrow(expect.objectContaining({ kind: 'invalid' }));
    const tiny = Buffer.from('00000004', 'hex');
    expect(() => reader().r.push(Buffer.concat([tiny, Buffer.from('moof')]))).toThrow(/declares size 4, smaller than its header/);
  });

  it('reports a box cut short at end()', () => {
    const { r } = reader();
    r.push(box('moof', 'abcdef').subarray(0, 10));
    expect(() => r.end()).toThrow(/truncated 'moof' box at offset 0: got 10 of 14 bytes/);
    const { r: r2 } = reader();
    r2.push(Buffer.from([0, 0, 0]));
    expect(() => r2.end()).toThrow(/truncated box header/);
  });

  it('lets disposition reject a box before any payload is kept', () => {
    const r = new BoxReader({
      maxBoxSize: 1 << 20,
      disposition: (h) => {
        throw new Mp4Error('invalid', `no ${h.type} here`);
      },
      onBox: () => undefined,
    });
    expect(() => r.push(box('moov', 'x'))).toThrow('no moov here');
  });
});
