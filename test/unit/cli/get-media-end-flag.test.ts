import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/cli/args.ts';
import { parseServeArgs } from '../../../src/cli/serve.ts';

describe('kestrel serve --get-media-end-wait-ms', () => {
  it('defaults to 3 s, takes the flag or KESTREL_GET_MEDIA_END_WAIT_MS (flag wins), rejects nonsense', () => {
    expect(parseServeArgs([], {}).getMediaEndOfDataWaitMs).toBe(3000);
    expect(parseServeArgs(['--get-media-end-wait-ms', '0'], {}).getMediaEndOfDataWaitMs).toBe(0);
    expect(parseServeArgs([], { KESTREL_GET_MEDIA_END_WAIT_MS: '30000' }).getMediaEndOfDataWaitMs).toBe(30_000);
    expect(parseServeArgs(['--get-media-end-wait-ms', '500'], { KESTREL_GET_MEDIA_END_WAIT_MS: '30000' }).getMediaEndOfDataWaitMs).toBe(500);
    for (const bad of ['-1', '1.5', 'soon', '300001']) {
      expect(() => parseServeArgs(['--get-media-end-wait-ms', bad], {})).toThrow(UsageError);
    }
  });
});
