import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/cli/args.ts';
import { parseServeArgs } from '../../../src/cli/serve.ts';

describe('kestrel serve --index', () => {
  it('is absent by default (embedded SQLite), takes a postgres:// URL from the flag or KESTREL_INDEX_URL (flag wins)', () => {
    expect(parseServeArgs([], {}).indexUrl).toBeUndefined();
    expect(parseServeArgs(['--index', 'postgres://kestrel@db:5432/kestrel'], {}).indexUrl).toBe('postgres://kestrel@db:5432/kestrel');
    expect(parseServeArgs([], { KESTREL_INDEX_URL: 'postgresql://a@b/c' }).indexUrl).toBe('postgresql://a@b/c');
    expect(parseServeArgs(['--index', 'postgres://flag/x'], { KESTREL_INDEX_URL: 'postgres://env/y' }).indexUrl).toBe('postgres://flag/x');
  });

  it('refuses anything but a PostgreSQL URL', () => {
    for (const bad of ['mysql://a/b', 'sqlite:///tmp/x', 'db.example.com', 'http://db/x']) {
      expect(() => parseServeArgs(['--index', bad], {})).toThrow(UsageError);
    }
    expect(() => parseServeArgs([], { KESTREL_INDEX_URL: 'redis://x' })).toThrow(/KESTREL_INDEX_URL/);
  });
});
