/**
 * MSB-first bit reader for H.264/H.265 parameter sets and AAC configs, with Exp-Golomb codes.
 * Reading past the end throws InvalidCodecPrivateDataException: every caller parses codec
 * private data, so a short read always means a truncated or corrupt record.
 */
import { invalidCodecPrivate } from './errors.ts';

export class BitReader {
  private bit = 0;

  constructor(
    private readonly bytes: Uint8Array,
    /** Names the structure in error messages, e.g. "H.264 SPS". */
    private readonly what: string,
  ) {}

  get bitsLeft(): number {
    return this.bytes.length * 8 - this.bit;
  }

  /** Up to 32 bits as an unsigned number. */
  u(n: number): number {
    if (n > this.bitsLeft) throw invalidCodecPrivate(`${this.what} is truncated`);
    let v = 0;
    for (let i = 0; i < n; i++, this.bit++) {
      v = v * 2 + ((this.bytes[this.bit >> 3]! >> (7 - (this.bit & 7))) & 1);
    }
    return v;
  }

  flag(): boolean {
    return this.u(1) === 1;
  }

  skip(n: number): void {
    if (n > this.bitsLeft) throw invalidCodecPrivate(`${this.what} is truncated`);
    this.bit += n;
  }

  /** ue(v). More than 31 leading zeros cannot occur in a valid stream. */
  ue(): number {
    let zeros = 0;
    while (this.u(1) === 0) {
      if (++zeros > 31) throw invalidCodecPrivate(`${this.what} has an invalid Exp-Golomb code`);
    }
    return 2 ** zeros - 1 + this.u(zeros);
  }

  /** se(v). */
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}

/** NAL payload → RBSP: drops the emulation-prevention 0x03 of every 00 00 03 sequence. */
export function nalToRbsp(nal: Uint8Array): Uint8Array {
  const out = new Uint8Array(nal.length);
  let n = 0;
  let zeros = 0;
  for (const b of nal) {
    if (zeros >= 2 && b === 0x03) {
      zeros = 0;
      continue;
    }
    out[n++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, n);
}
