import { describe, expect, it } from 'vitest';
import { KvsError } from '../../../src/shared/errors.ts';
import {
  Fields,
  MEDIA_TYPE,
  STREAM_ARN,
  STREAM_NAME,
  TAG_KEY,
  VERSION,
  checkString,
} from '../../../src/control/validate.ts';
import { decodePageToken, encodePageToken } from '../../../src/control/page-token.ts';
import { mergeTags, parseTagKeys, parseTagList, parseTagMap, removeTags } from '../../../src/control/tags.ts';
import { parseImageGenerationConfig, parseNotificationConfig } from '../../../src/control/media-configs.ts';

/** Runs fn and returns the KvsError it throws (fails the test if it does not throw one). */
function errorOf(fn: () => unknown): KvsError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(KvsError);
    return err as KvsError;
  }
  throw new Error('expected a KvsError');
}

describe('Fields', () => {
  it('requires the body to be a JSON object', () => {
    for (const body of [null, undefined, [], 'x', 3]) {
      expect(errorOf(() => Fields.of(body)).kvsName).toBe('InvalidArgumentException');
    }
    expect(Fields.of({}).obj).toEqual({});
  });

  it('reads strings with length and whole-string pattern checks', () => {
    const f = Fields.of({ a: 'abc', n: 5, bad: 'a b', long: 'x'.repeat(257) });
    expect(f.optString('a', STREAM_NAME)).toBe('abc');
    expect(f.optString('missing')).toBeUndefined();
    expect(errorOf(() => f.optString('n')).message).toContain("'n': must be a string");
    // The pattern must match the whole value, not just a part of it.
    expect(errorOf(() => f.optString('bad', STREAM_NAME)).message).toContain('pattern');
    expect(errorOf(() => f.optString('long', STREAM_NAME)).message).toContain('between 1 and 256');
    expect(errorOf(() => f.reqString('missing')).message).toContain("Missing required parameter 'missing'");
  });

  it('treats null as absent and ignores inherited properties', () => {
    const f = Fields.of(JSON.parse('{"a":null}'));
    expect(f.optString('a')).toBeUndefined();
    expect(f.has('a')).toBe(false);
    expect(f.get('toString')).toBeUndefined();
    expect(errorOf(() => f.reqInt('a')).message).toContain('Missing');
  });

  it('reads integers strictly: no strings, no fractions, ranges enforced', () => {
    const f = Fields.of({ i: 24, s: '24', frac: 1.5, big: 2 ** 60, neg: -1 });
    expect(f.optInt('i', { min: 0, max: 87_600 })).toBe(24);
    expect(errorOf(() => f.optInt('s')).message).toContain("'s': must be an integer");
    expect(errorOf(() => f.optInt('frac')).kvsName).toBe('InvalidArgumentException');
    expect(errorOf(() => f.optInt('big')).kvsName).toBe('InvalidArgumentException');
    expect(errorOf(() => f.optInt('neg', { min: 0, max: 10 })).message).toContain('between 0 and 10');
  });

  it('reads enums, nested objects (with dotted labels) and string lists', () => {
    const f = Fields.of({ e: 'HOT', x: 'COLD', o: { inner: 5 }, l: ['a', 'b'], lb: ['a', 1], notList: 'a' });
    expect(f.optEnum('e', ['HOT', 'WARM'])).toBe('HOT');
    expect(errorOf(() => f.optEnum('x', ['HOT', 'WARM'])).message).toContain('one of HOT, WARM');
    expect(errorOf(() => f.reqObject('o').reqString('inner')).message).toContain("'o.inner'");
    expect(errorOf(() => f.reqObject('e')).message).toContain("'e': must be an object");
    expect(f.optStringList('l', { minItems: 1, maxItems: 2 })).toEqual(['a', 'b']);
    expect(errorOf(() => f.optStringList('l', { maxItems: 1 })).message).toContain('between 0 and 1 items');
    expect(errorOf(() => f.optStringList('lb')).message).toContain("'lb.1'");
    expect(errorOf(() => f.optStringList('notList')).message).toContain('must be a list');
  });
});

describe('member rules', () => {
  const ok = (rule: Parameters<typeof checkString>[2], v: string) => checkString('v', v, rule) === v;
  const fails = (rule: Parameters<typeof checkString>[2], v: string) => {
    expect(() => checkString('v', v, rule)).toThrow(KvsError);
  };

  it('StreamName: 1-256 of [a-zA-Z0-9_.-]', () => {
    expect(ok(STREAM_NAME, 'cam_1.front-door')).toBe(true);
    fails(STREAM_NAME, '');
    fails(STREAM_NAME, 'a/b');
    fails(STREAM_NAME, 'é');
  });

  it('StreamARN: the KVS pattern', () => {
    expect(ok(STREAM_ARN, 'arn:aws:kinesisvideo:us-west-2:123456789012:stream/s1/1551924009774')).toBe(true);
    expect(ok(STREAM_ARN, 'arn:aws-cn:kinesisvideo:cn-north-1:1:stream/s1/1')).toBe(true);
    fails(STREAM_ARN, 'arn:aws:kinesis:us-west-2:1:stream/s1/1');
    fails(STREAM_ARN, 'arn:aws:kinesisvideo:us-west-2:1:stream/s1');
    fails(STREAM_ARN, 'arn:x');
  });

  it('MediaType, Version and tag keys', () => {
    expect(ok(MEDIA_TYPE, 'video/h264,audio/aac')).toBe(true);
    fails(MEDIA_TYPE, 'video/h264,');
    expect(ok(VERSION, 'cWNvNr5iIQ1AA8LBuDFE')).toBe(true);
    fails(VERSION, 'v-1');
    expect(ok(TAG_KEY, 'Ünïcode key:/=+-@_.')).toBe(true);
    fails(TAG_KEY, 'no*stars');
    fails(TAG_KEY, '');
  });
});

describe('tags', () => {
  it('parses the map and list forms into Maps and keeps __proto__ as data', () => {
    const map = parseTagMap(Fields.of(JSON.parse('{"Tags":{"__proto__":"x","a":""}}')), 'Tags');
    expect([...map!]).toEqual([['__proto__', 'x'], ['a', '']]);
    const merged = mergeTags({}, map!);
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(Object.keys(merged)).toEqual(['__proto__', 'a']);
    const list = parseTagList(Fields.of({ Tags: [{ Key: 'k', Value: 'v' }] }), 'Tags');
    expect([...list!]).toEqual([['k', 'v']]);
  });

  it('rejects bad keys, values and shapes', () => {
    expect(() => parseTagMap(Fields.of({ Tags: { k: 1 } }), 'Tags')).toThrow(/Tags\.k/);
    expect(() => parseTagMap(Fields.of({ Tags: { ['k'.repeat(129)]: 'v' } }), 'Tags')).toThrow(/tag key/);
    expect(() => parseTagMap(Fields.of({ Tags: {} }), 'Tags', 1)).toThrow(/at least 1/);
    expect(() => parseTagList(Fields.of({ Tags: [{ Key: 'k' }] }), 'Tags')).toThrow(/Tags\.0\.Value/);
    expect(() => parseTagKeys(Fields.of({ TagKeyList: [] }), 'TagKeyList')).toThrow(KvsError);
  });

  it('merges up to 50 tags and removes keys', () => {
    const fifty = Object.fromEntries(Array.from({ length: 50 }, (_, i) => [`k${i}`, 'v']));
    expect(Object.keys(mergeTags(fifty, new Map([['k0', 'new']])))).toHaveLength(50);
    expect(errorOf(() => mergeTags(fifty, new Map([['k50', 'v']]))).kvsName).toBe('TagsPerResourceExceededLimitException');
    expect(removeTags({ a: '1', b: '2' }, ['a', 'zz'])).toEqual({ b: '2' });
  });
});

describe('page tokens', () => {
  it('round-trips and stays within the model pattern', () => {
    const token = encodePageToken('stream-1');
    expect(token).toMatch(/^[a-zA-Z0-9+/=]+$/);
    expect(decodePageToken(token)).toBe('stream-1');
  });

  it('rejects tokens it did not issue', () => {
    for (const t of ['Zm9v', 'not base64!', Buffer.from('{"after":"bad name"}').toString('base64')]) {
      expect(errorOf(() => decodePageToken(t)).kvsName).toBe('InvalidArgumentException');
    }
  });
});

describe('media configurations', () => {
  const image = {
    Status: 'ENABLED',
    ImageSelectorType: 'SERVER_TIMESTAMP',
    DestinationConfig: { Uri: 's3://bucket/prefix', DestinationRegion: 'us-east-1' },
    SamplingInterval: 200,
    Format: 'PNG',
  };

  it('keeps exactly the known members, adds no defaults, null deletes', () => {
    const parsed = parseImageGenerationConfig(Fields.of({ ImageGenerationConfiguration: { ...image, Extra: 1 } }), 'us-east-1');
    expect(parsed).toEqual(image);
    expect(parseImageGenerationConfig(Fields.of({ ImageGenerationConfiguration: null }), 'us-east-1')).toBeNull();
    expect(parseNotificationConfig(Fields.of({}))).toBeNull();
  });

  it('enforces the image generation limits', () => {
    const bad = (patch: object) =>
      errorOf(() => parseImageGenerationConfig(Fields.of({ ImageGenerationConfiguration: { ...image, ...patch } }), 'us-east-1'));
    expect(bad({ SamplingInterval: 199 }).message).toContain('SamplingInterval');
    expect(bad({ SamplingInterval: 20_001 }).message).toContain('SamplingInterval');
    expect(bad({ SamplingInterval: '3000' }).message).toContain('must be an integer');
    expect(bad({ FormatConfig: { JPEGQuality: '0' } }).message).toContain('JPEGQuality');
    expect(bad({ FormatConfig: { JPEGQuality: 80 } }).message).toContain('JPEGQuality');
    expect(bad({ FormatConfig: { Other: '1' } }).message).toContain('FormatConfig.Other');
    expect(bad({ WidthPixels: 3841 }).message).toContain('WidthPixels');
    expect(bad({ HeightPixels: 0 }).message).toContain('HeightPixels');
    expect(bad({ DestinationConfig: { Uri: 's3://b' } }).message).toContain('DestinationRegion');
    expect(bad({ DestinationConfig: { Uri: 's3://b', DestinationRegion: 'us-west-2' } }).message).toContain("stream's region");
    expect(bad({ ImageSelectorType: 'NOW' }).message).toContain('ImageSelectorType');
  });

  it('validates the notification configuration', () => {
    const cfg = { Status: 'DISABLED', DestinationConfig: { Uri: 'https://hooks.example.com/kvs' } };
    expect(parseNotificationConfig(Fields.of({ NotificationConfiguration: cfg }))).toEqual(cfg);
    expect(() => parseNotificationConfig(Fields.of({ NotificationConfiguration: { Status: 'ENABLED' } }))).toThrow(/DestinationConfig/);
    expect(() =>
      parseNotificationConfig(Fields.of({ NotificationConfiguration: { Status: 'ENABLED', DestinationConfig: { Uri: 'no-scheme' } } })),
    ).toThrow(/Uri/);
  });
});
