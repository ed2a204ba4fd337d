import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { testAuthEnv } from './auth.ts';

export interface ServerProcess {
  url: string;
  child: ChildProcess;
  /** Lines the server logged (pino JSON). */
  logs: string[];
  exited: Promise<number | null>;
}

const BIN = path.resolve(import.meta.dirname, '../../bin/kestrel.js');

/** Runs `kestrel serve` as a real child process (for crash and signal tests). */
export async function spawnServer(args: string[], env: Record<string, string> = {}): Promise<ServerProcess> {
  // The test root key and admin password (auth is on); `env` may override them.
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { env: { ...process.env, ...testAuthEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start: ${logs.join('\n')}`)), 20_000);
    const onLine = (line: string) => {
      logs.push(line);
      const m = /listening on (http:\/\/[^\s"]+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    readline.createInterface({ input: child.stdout! }).on('line', onLine);
    readline.createInterface({ input: child.stderr! }).on('line', onLine);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}: ${logs.join('\n')}`));
    });
  });
  return { url, child, logs, exited };
}

/**
 * `kestrel serve` as a child on a fresh temp data dir with the test credentials (testAuthEnv) and
 * `env`; `stop()` ends it and removes the data dir. For suites that need a real process (RSS, crashes).
 */
export async function spawnScratchServer(prefix: string, env: Record<string, string> = {}): Promise<ServerProcess & { dataDir: string; stop(): Promise<void> }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const server = await spawnServer(['--port', '0', '--data', dataDir], { ...testAuthEnv, ...env });
  return {
    ...server,
    dataDir,
    stop: async () => {
      if (server.child.exitCode === null) {
        server.child.kill('SIGTERM');
        await server.exited;
      }
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
