/**
 * `kestrel serve` bootstrap as a real process: without credentials the first start generates a
 * root key and admin password into <data>/credentials (0600), logs where (never the secret), and
 * those credentials work; KESTREL_ACCESS_KEY_ID/SECRET replace them on the next start.
 * `--insecure-no-auth` is refused off loopback and loudly logged on it.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { KinesisVideoClient, ListStreamsCommand } from '@aws-sdk/client-kinesis-video';
import { spawnServer, type ServerProcess } from '../support/server-process.ts';
import { expectKvsError } from '../support/kvs-sdk.ts';
import { signedFetch } from '../support/auth.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/kestrel.js');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-bootstrap-'));
/** No credentials from the developer's environment or the test defaults. */
const noCreds = { KESTREL_ACCESS_KEY_ID: '', KESTREL_SECRET_ACCESS_KEY: '', KESTREL_ADMIN_PASSWORD: '', KESTREL_LOG_LEVEL: 'info' };
const running: ServerProcess[] = [];

afterAll(async () => {
  for (const s of running) if (s.child.exitCode === null) s.child.kill('SIGKILL');
  fs.rmSync(dir, { recursive: true, force: true });
});

async function stop(s: ServerProcess): Promise<void> {
  s.child.kill('SIGTERM');
  await s.exited;
}

const sdk = (url: string, accessKeyId: string, secretAccessKey: string) =>
  new KinesisVideoClient({ endpoint: url, region: 'us-east-1', credentials: { accessKeyId, secretAccessKey }, maxAttempts: 1 });

function parseCredentials(file: string): Record<string, string> {
  return Object.fromEntries(fs.readFileSync(file, 'utf8').split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

describe('first start without credentials', () => {
  it('writes <data>/credentials (0600) and a server key, logs the file but not the secret; the credentials work', async () => {
    const data = path.join(dir, 'fresh');
    const srv = await spawnServer(['--port', '0', '--data', data], noCreds);
    running.push(srv);
    const file = path.join(data, 'credentials');
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.statSync(path.join(data, 'server.key')).mode & 0o777).toBe(0o600);
    const creds = parseCredentials(file);
    expect(creds.KESTREL_ACCESS_KEY_ID).toMatch(/^KST[A-Z2-7]{17}$/);
    expect(creds.KESTREL_ADMIN_USER).toBe('admin');
    const logs = srv.logs.join('\n');
    expect(logs).toContain(file);
    expect(logs).not.toContain(creds.KESTREL_SECRET_ACCESS_KEY!);
    expect(logs).not.toContain(creds.KESTREL_ADMIN_PASSWORD!);
    const kv = sdk(srv.url, creds.KESTREL_ACCESS_KEY_ID!, creds.KESTREL_SECRET_ACCESS_KEY!);
    expect((await kv.send(new ListStreamsCommand({}))).StreamInfoList).toEqual([]);
    await stop(srv);

    // Restart with an explicit root key: it is added, the generated one keeps working, the file is not rewritten.
    const before = fs.readFileSync(file, 'utf8');
    const again = await spawnServer(['--port', '0', '--data', data, '--access-key-id', 'AKIDEXPLICIT0001', '--secret-access-key', 'explicit-secret-0001'], noCreds);
    running.push(again);
    expect(fs.readFileSync(file, 'utf8')).toBe(before);
    await sdk(again.url, 'AKIDEXPLICIT0001', 'explicit-secret-0001').send(new ListStreamsCommand({}));
    await sdk(again.url, creds.KESTREL_ACCESS_KEY_ID!, creds.KESTREL_SECRET_ACCESS_KEY!).send(new ListStreamsCommand({}));
    await expectKvsError(sdk(again.url, 'AKIDEXPLICIT0001', 'another-secret').send(new ListStreamsCommand({})), 'InvalidSignatureException', 403);
    await stop(again);
  });
});

describe('--insecure-no-auth', () => {
  it('is refused unless the server binds to loopback', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', '--insecure-no-auth', '--host', '0.0.0.0', '--port', '0', '--data', path.join(dir, 'open')], {
      env: { ...process.env, ...noCreds },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(stderr).toMatch(/--insecure-no-auth is refused unless the server binds to a loopback address/);
    expect(fs.existsSync(path.join(dir, 'open', 'index.sqlite'))).toBe(false);
  });

  it('on loopback: warns loudly and serves unsigned requests', async () => {
    const srv = await spawnServer(['--port', '0', '--data', path.join(dir, 'dev')], { ...noCreds, KESTREL_INSECURE_NO_AUTH: '1' });
    running.push(srv);
    expect(srv.logs.join('\n')).toMatch(/AUTHENTICATION IS OFF \(--insecure-no-auth\)/);
    const res = await fetch(`${srv.url}/createStream`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"StreamName":"dev","DataRetentionInHours":1}' });
    expect(res.status).toBe(200);
    expect((await fetch(`${srv.url}/api/v1/users`)).status).toBe(200);
    // Signed requests (even with keys the server does not know) are not checked either.
    expect((await signedFetch(`${srv.url}/listStreams`, { method: 'POST', body: '{}' })).status).toBe(200);
    await stop(srv);
  });
});
