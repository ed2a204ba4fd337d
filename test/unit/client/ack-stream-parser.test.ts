import { describe, expect, it } from 'vitest';
import { AckStreamParser, formatSeconds, sanitizeErrorType, type Ack } from '../../../src/client/put-media-client.ts';

const PERSISTED = '{"EventType":"PERSISTED","FragmentTimecode":1663277247152,"FragmentNumber":"91343852333181432511524306419788296366724229586"}';
const ERROR =
  '{"EventType":"ERROR","FragmentTimecode":0,"FragmentNumber":"91343852333181571046918222741096071001568090649","ErrorCode":"FRAGMENT_TIMECODE_LESSER_THAN_PREVIOUS","ErrorId":4004}';

function feed(chunks: Array<string | Buffer>): { acks: Ack[]; malformed: string[] } {
  const malformed: string[] = [];
  const parser = new AckStreamParser((t) => malformed.push(t));
  const acks = chunks.flatMap((c) => parser.push(c));
  acks.push(...parser.end());
  return { acks, malformed };
}

describe('AckStreamParser', () => {
  it('parses newline-terminated ACKs as on the wire', () => {
    const { acks, malformed } = feed([`${PERSISTED}\n${ERROR}\n{"EventType":"IDLE"}\n`]);
    expect(acks.map((a) => a.EventType)).toEqual(['PERSISTED', 'ERROR', 'IDLE']);
    expect(acks[0]!.FragmentTimecode).toBe(1663277247152);
    expect(acks[0]!.FragmentNumber).toBe('91343852333181432511524306419788296366724229586');
    expect(acks[1]!.ErrorId).toBe(4004);
    expect(malformed).toEqual([]);
  });

  it('reassembles objects split at every possible chunk boundary', () => {
    const wire = `${PERSISTED}\n${ERROR}\n`;
    for (let cut = 1; cut < wire.length; cut++) {
      const { acks, malformed } = feed([wire.slice(0, cut), wire.slice(cut)]);
      expect(acks.map((a) => a.EventType), `cut at ${cut}`).toEqual(['PERSISTED', 'ERROR']);
      expect(malformed).toEqual([]);
    }
  });

  it('handles one byte per chunk, including a multi-byte UTF-8 character', () => {
    const wire = Buffer.from('{"EventType":"ERROR","ErrorId":5000,"ErrorCode":"naïve } {"}\r\n{"EventType":"IDLE"}');
    const { acks } = feed([...wire].map((b) => Buffer.from([b])));
    expect(acks).toEqual([{ EventType: 'ERROR', ErrorId: 5000, ErrorCode: 'naïve } {' }, { EventType: 'IDLE' }]);
  });

  it('accepts objects back to back without separators', () => {
    const { acks } = feed([`${PERSISTED}${PERSISTED} ${ERROR}`]);
    expect(acks).toHaveLength(3);
  });

  it('reports junk and non-ACK objects without losing later ACKs', () => {
    const { acks, malformed } = feed(['garbage\n{"Message":"x"}\n{"EventType":', '"RECEIVED","FragmentTimecode":5}\n']);
    expect(acks).toEqual([{ EventType: 'RECEIVED', FragmentTimecode: 5 }]);
    expect(malformed).toEqual(['garbage', '{"Message":"x"}']);
  });

  it('reports a truncated final object at end()', () => {
    const { acks, malformed } = feed([`${PERSISTED}\n{"EventType":"BUFF`]);
    expect(acks).toHaveLength(1);
    expect(malformed).toEqual(['{"EventType":"BUFF']);
  });

  it('gives up on an object that never closes instead of buffering forever', () => {
    const malformed: string[] = [];
    const parser = new AckStreamParser((t) => malformed.push(t), 100);
    expect(parser.push('{"EventType":"' + 'x'.repeat(200))).toEqual([]);
    expect(malformed).toHaveLength(1);
    expect(parser.push('\n{"EventType":"IDLE"}')).toEqual([{ EventType: 'IDLE' }]);
  });
});

describe('wire helpers', () => {
  it('sanitizes x-amzn-ErrorType like the SDK', () => {
    expect(sanitizeErrorType('ResourceNotFoundException:http://internal.amazon.com/coral/com.amazon/')).toBe('ResourceNotFoundException');
    expect(sanitizeErrorType('com.amazonaws.kinesisvideo#ResourceInUseException')).toBe('ResourceInUseException');
    expect(sanitizeErrorType('ConnectionLimitExceededException,foo')).toBe('ConnectionLimitExceededException');
    expect(sanitizeErrorType(undefined)).toBeUndefined();
  });

  it('formats the producer start timestamp with zero-padded millis', () => {
    expect(formatSeconds(1704164645005)).toBe('1704164645.005');
    expect(formatSeconds(1704164645678.9)).toBe('1704164645.678');
    expect(formatSeconds(0)).toBe('0.000');
  });
});
