import { describe, expect, it } from 'vitest';
import { MKV_ID, element, stringElement, tagsElement } from '../../../src/mkv/index.ts';

/** The plain nesting tagsElement must reproduce byte for byte. */
function nested(tags: ReadonlyArray<{ name: string; value: string }>): Buffer {
  const simpleTags = tags.map((t) => element(MKV_ID.SimpleTag, [stringElement(MKV_ID.TagName, t.name), stringElement(MKV_ID.TagString, t.value)]));
  return element(MKV_ID.Tags, [element(MKV_ID.Tag, simpleTags)]);
}

describe('tagsElement', () => {
  const cases: Record<string, Array<{ name: string; value: string }>> = {
    'no tags': [],
    'the tags GetMedia puts before a fragment': [
      { name: 'AWS_KINESISVIDEO_FRAGMENT_NUMBER', value: '91343852333181432392682062607743920146159169392' },
      { name: 'AWS_KINESISVIDEO_SERVER_TIMESTAMP', value: '1700000000.123' },
      { name: 'AWS_KINESISVIDEO_PRODUCER_TIMESTAMP', value: '1700000000.000' },
    ],
    'an empty value': [{ name: 'EMPTY', value: '' }],
    'multi-byte UTF-8': [{ name: 'LABEL', value: 'caméra — entrée 北' }],
    // 126 is the largest 1-byte size; these cross to 2-byte sizes at each level.
    'values at and past the 1-byte size limit': [
      { name: 'A', value: 'x'.repeat(126) },
      { name: 'B', value: 'y'.repeat(127) },
    ],
    'a value needing a 3-byte size': [{ name: 'BIG', value: 'z'.repeat(20_000) }],
    'many tags (a Tag past 16 KB)': Array.from({ length: 300 }, (_, i) => ({ name: `TAG_${i}`, value: `value ${i} `.repeat(8) })),
  };
  for (const [label, tags] of Object.entries(cases)) {
    it(`is byte for byte the nested layout: ${label}`, () => {
      expect(tagsElement(tags).equals(nested(tags))).toBe(true);
    });
  }
});
