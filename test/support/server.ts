import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { KestrelServer } from '../../src/app.ts';
import { defaultConfig, type KestrelConfig } from '../../src/config.ts';
import { silentLogger, createLogger } from '../../src/shared/logger.ts';
import { TEST_ACCESS_KEY_ID, TEST_ADMIN_PASSWORD, TEST_SECRET_ACCESS_KEY, testCredentials } from './auth.ts';

export interface TestServer {
  url: string;
  dataDir: string;
  server: KestrelServer;
  close(): Promise<void>;
}

/** Starts a real Kestrel server on an ephemeral loopback port with a fresh temp data dir. */
export async function startTestServer(overrides: Partial<KestrelConfig> = {}): Promise<TestServer> {
  const dataDir = overrides.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-test-'));
  // No free-space floor unless a test asks for one: tests must not depend on how full the host's disk is.
  const storage = { ...defaultConfig().storage, minFreeSpace: { bytes: 0 }, ...overrides.storage };
  // Authentication is on, with the test root key and admin password (test/support/auth.ts).
  const auth = { rootAccessKeyId: TEST_ACCESS_KEY_ID, rootSecretAccessKey: TEST_SECRET_ACCESS_KEY, adminPassword: TEST_ADMIN_PASSWORD, ...overrides.auth };
  const config = defaultConfig({ port: 0, host: '127.0.0.1', ...overrides, storage, dataDir, auth });
  const log = process.env.KESTREL_TEST_LOG ? createLogger(process.env.KESTREL_TEST_LOG) : silentLogger();
  const server = await KestrelServer.start(config, log);
  return {
    url: server.url,
    dataDir,
    server,
    close: async () => {
      await server.close();
      if (!overrides.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const sdkConfig = (endpoint: string) => ({
  region: 'us-east-1',
  endpoint,
  credentials: testCredentials,
  maxAttempts: 1,
});
