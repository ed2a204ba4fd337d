import { describe, expect, it } from 'vitest';
import { KVS_TAG, isReservedTagName } from '../../../src/mkv/kvs-tags.ts';

describe('KVS reserved tag names', () => {
  it('all start with AWS_KINESISVIDEO_ and are reserved; user names are not', () => {
    for (const name of Object.values(KVS_TAG)) {
      expect(name).toMatch(/^AWS_KINESISVIDEO_[A-Z_]+$/);
      expect(isReservedTagName(name)).toBe(true);
    }
    expect(isReservedTagName('AWSsomething')).toBe(true);
    expect(isReservedTagName('testTag_0')).toBe(false);
    expect(isReservedTagName('aws_lowercase')).toBe(false);
  });
});
