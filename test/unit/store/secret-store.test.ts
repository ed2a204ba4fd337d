import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { FileSecretStore } from '../../../src/store/secret-store.ts';
import { loadOrCreateSessionSecret } from '../../../src/store/session-secret.ts';
import { secretStoreContract } from '../../support/secret-store-contract.ts';

secretStoreContract('files', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-secrets-'));
  return { store: new FileSecretStore(dir), another: () => new FileSecretStore(dir), close: () => fs.rmSync(dir, { recursive: true, force: true }) };
});

describe('FileSecretStore', () => {
  it('keeps the session secret where earlier versions did, readable by the owner only', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-secrets-'));
    try {
      const key = await loadOrCreateSessionSecret(new FileSecretStore(dir));
      expect(key).toHaveLength(32);
      const file = path.join(dir, 'session-secret');
      expect(fs.readFileSync(file, 'utf8')).toBe(`${key.toString('hex')}\n`);
      expect(fs.statSync(file).mode & 0o777).toBe(0o600);
      expect((await loadOrCreateSessionSecret(new FileSecretStore(dir))).equals(key)).toBe(true);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
