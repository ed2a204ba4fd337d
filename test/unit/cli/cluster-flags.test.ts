import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/cli/args.ts';
import { parseServeArgs } from '../../../src/cli/serve.ts';

describe('kestrel serve --node-id / --public-url', () => {
  it('take the flag or KESTREL_NODE_ID / KESTREL_PUBLIC_URL (flag wins); none leaves the embedded defaults', () => {
    const plain = parseServeArgs([], {});
    expect(plain.cluster).toBeUndefined();
    expect(plain.publicUrl).toBeUndefined();
    expect(parseServeArgs(['--node-id', 'node-a'], {}).cluster).toEqual({ nodeId: 'node-a' });
    expect(parseServeArgs([], { KESTREL_NODE_ID: 'kestrel-2.dc1' }).cluster).toEqual({ nodeId: 'kestrel-2.dc1' });
    expect(parseServeArgs(['--node-id', 'flag'], { KESTREL_NODE_ID: 'env' }).cluster?.nodeId).toBe('flag');
    expect(parseServeArgs([], { KESTREL_PUBLIC_URL: 'http://10.0.0.5:8080' }).publicUrl).toBe('http://10.0.0.5:8080');
    expect(parseServeArgs(['--public-url', 'https://a.example'], { KESTREL_PUBLIC_URL: 'http://b' }).publicUrl).toBe('https://a.example');
  });

  it('refuses node ids that could not name a node safely', () => {
    for (const bad of ['', ' ', '-lead', 'a b', 'x/y', 'ä', 'n'.repeat(129)]) {
      expect(() => parseServeArgs(['--node-id', bad], {}), bad).toThrow(UsageError);
    }
    expect(() => parseServeArgs([], { KESTREL_NODE_ID: 'a b' })).toThrow(/KESTREL_NODE_ID/);
  });
});
