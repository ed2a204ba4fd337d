/**
 * Splits ffmpeg's image2pipe output (images back to back, no framing) into single images by
 * walking the JPEG marker / PNG chunk structure — scanning for EOI bytes alone could be fooled
 * by table data that happens to contain them.
 */

export type ImageFormat = 'jpeg' | 'png';

export function splitImages(format: ImageFormat, data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let pos = 0;
  while (pos < data.length) {
    const end = format === 'jpeg' ? jpegEnd(data, pos) : pngEnd(data, pos);
    out.push(data.subarray(pos, end));
    pos = end;
  }
  return out;
}

const truncated = (what: string) => new Error(`${what} stream is truncated`);

/** Offset just past the EOI of the JPEG starting at `start`. */
function jpegEnd(buf: Buffer, start: number): number {
  if (buf[start] !== 0xff || buf[start + 1] !== 0xd8) throw new Error(`no JPEG SOI at offset ${start}`);
  let i = start + 2;
  for (;;) {
    if (i + 2 > buf.length) throw truncated('JPEG');
    if (buf[i] !== 0xff) throw new Error(`JPEG marker expected at offset ${i}`);
    const marker = buf[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte before a marker
      continue;
    }
    if (marker === 0xd9) return i + 2;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2; // markers without a length
      continue;
    }
    if (i + 4 > buf.length) throw truncated('JPEG');
    i += 2 + buf.readUInt16BE(i + 2);
    if (marker !== 0xda) continue;
    // Entropy-coded data after SOS: 0xFF is only ever followed by 0x00 (stuffing) or RSTn.
    while (i + 1 < buf.length && !(buf[i] === 0xff && buf[i + 1] !== 0x00 && !(buf[i + 1]! >= 0xd0 && buf[i + 1]! <= 0xd7))) i++;
  }
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Offset just past the IEND chunk of the PNG starting at `start`. */
function pngEnd(buf: Buffer, start: number): number {
  if (!buf.subarray(start, start + 8).equals(PNG_SIGNATURE)) throw new Error(`no PNG signature at offset ${start}`);
  let i = start + 8;
  for (;;) {
    if (i + 12 > buf.length) throw truncated('PNG');
    const length = buf.readUInt32BE(i);
    const type = buf.toString('latin1', i + 4, i + 8);
    i += 12 + length;
    if (i > buf.length) throw truncated('PNG');
    if (type === 'IEND') return i;
  }
}

/** Pixel size from a JPEG's SOFn or a PNG's IHDR (for callers that check what they got). */
export function imageSize(img: Buffer): { width: number; height: number } | undefined {
  if (img.subarray(0, 8).equals(PNG_SIGNATURE)) return { width: img.readUInt32BE(16), height: img.readUInt32BE(20) };
  if (img[0] !== 0xff || img[1] !== 0xd8) return undefined;
  let i = 2;
  while (i + 9 < img.length && img[i] === 0xff) {
    const marker = img[i + 1]!;
    const sof = marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
    if (sof) return { height: img.readUInt16BE(i + 5), width: img.readUInt16BE(i + 7) };
    i += 2 + img.readUInt16BE(i + 2);
  }
  return undefined;
}
