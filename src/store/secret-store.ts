/**
 * Small named secrets every node must share (the HLS/DASH playback session key, the webhook signing
 * key). A port: FileSecretStore (embedded: one file per secret in the data dir, as before) and
 * PgSecretStore (pg-secret-store.ts: the shared index, so a URL minted on one node plays on every
 * node); test/support/secret-store-contract.ts runs against both.
 */
import fs from 'node:fs';
import path from 'node:path';

export interface SecretStore {
  /**
   * The secret called `name`, created with `generate()` when there is none (or, for the file store, when
   * the stored one fails `valid`). Atomic: concurrent callers, on any node, all get the same value.
   */
  getOrCreate(name: string, generate: () => string, valid?: (value: string) => boolean): Promise<string>;
  /** Where the secret lives, for a log line (a file path, or the index table). */
  where(name: string): string;
}

/** Only names that are plain file names (the callers' constants). */
export function checkSecretName(name: string): void {
  if (!/^[a-z0-9][a-z0-9-]{0,63}$/.test(name)) throw new Error(`bad secret name ${JSON.stringify(name)}`);
}

/** `<dir>/<name>`, mode 0600, written with write-then-rename so a crash never leaves a truncated secret. */
export class FileSecretStore implements SecretStore {
  constructor(readonly dir: string) {}

  where(name: string): string {
    checkSecretName(name);
    return path.join(this.dir, name);
  }

  async getOrCreate(name: string, generate: () => string, valid: (value: string) => boolean = (v) => v.length > 0): Promise<string> {
    const file = this.where(name);
    try {
      const value = fs.readFileSync(file, 'utf8').trim();
      if (valid(value)) return value;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    fs.mkdirSync(this.dir, { recursive: true });
    const value = generate();
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, `${value}\n`, { mode: 0o600 });
    fs.renameSync(tmp, file);
    return value;
  }
}
