/**
 * Authentication with the other real clients: boto3 and the AWS CLI (signed with keys, refused
 * unsigned or with an unknown key), ffmpeg through a URL from `kestrel presign put-media`, and the
 * `kestrel users` / `kestrel keys` commands.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFfmpeg } from '../../src/media-tools/ffmpeg.ts';
import { startTestServer, type TestServer } from '../support/server.ts';
import { makeH264Mkv } from '../support/media.ts';
import { createStream, listAll, waitForFragments } from '../support/live-push.ts';
import { TEST_ACCESS_KEY_ID, TEST_SECRET_ACCESS_KEY, testAuthEnv } from '../support/auth.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/kestrel.js');
let srv: TestServer;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command with a clean credential environment plus `env`. */
function run(cmd: string, args: string[], env: Record<string, string> = {}, input?: string): Promise<Run> {
  const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^(AWS_|KESTREL_)/.test(k)));
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { env: { ...base, AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: '/dev/null', AWS_SHARED_CREDENTIALS_FILE: '/dev/null', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input ?? '');
  });
}

const kestrel = (args: string[], env: Record<string, string> = testAuthEnv, input?: string) => run(process.execPath, [BIN, ...args, '--endpoint', srv.url], env, input);
const awsKeys = { AWS_ACCESS_KEY_ID: TEST_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: TEST_SECRET_ACCESS_KEY, AWS_DEFAULT_REGION: 'us-east-1' };

beforeAll(async () => {
  srv = await startTestServer();
  await createStream(srv.url, 'signed-cam');
});
afterAll(async () => {
  await srv?.close();
});

describe('boto3 and the AWS CLI', () => {
  const boto = (code: string, env: Record<string, string>) => run('python3', ['-c', code, srv.url], env);
  const PY = `
import sys, boto3, botocore
from botocore.config import Config
unsigned = len(sys.argv) > 2
cfg = Config(signature_version=botocore.UNSIGNED) if unsigned else None
kv = boto3.client('kinesisvideo', endpoint_url=sys.argv[1], region_name='us-east-1', config=cfg)
try:
    print('OK', ','.join(s['StreamName'] for s in kv.list_streams()['StreamInfoList']))
except botocore.exceptions.ClientError as e:
    print('ERR', e.response['Error']['Code'], e.response['ResponseMetadata']['HTTPStatusCode'])
`;

  it('boto3 works with keys and is refused unsigned or with an unknown key', async () => {
    expect((await boto(PY, awsKeys)).stdout.trim()).toBe('OK signed-cam');
    const unsigned = await run('python3', ['-c', PY, srv.url, 'unsigned'], {});
    expect(unsigned.stdout.trim()).toBe('ERR MissingAuthenticationTokenException 403');
    expect((await boto(PY, { ...awsKeys, AWS_ACCESS_KEY_ID: 'AKIDUNKNOWN0000' })).stdout.trim()).toBe('ERR UnrecognizedClientException 403');
    expect((await boto(PY, { ...awsKeys, AWS_SECRET_ACCESS_KEY: 'not-the-secret' })).stdout.trim()).toBe('ERR InvalidSignatureException 403');
  });

  it('the AWS CLI works with keys in the env and is refused without', async () => {
    const ok = await run('aws', ['kinesisvideo', 'list-streams', '--endpoint-url', srv.url, '--output', 'json'], awsKeys);
    expect(ok.code, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).StreamInfoList[0].StreamName).toBe('signed-cam');
    const refused = await run('aws', ['kinesisvideo', 'list-streams', '--endpoint-url', srv.url, '--no-sign-request', '--region', 'us-east-1'], {});
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/MissingAuthenticationTokenException/);
    const wrong = await run('aws', ['kinesisvideo', 'describe-stream', '--stream-name', 'signed-cam', '--endpoint-url', srv.url], { ...awsKeys, AWS_SECRET_ACCESS_KEY: 'nope-nope' });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toMatch(/InvalidSignatureException/);
  });
});

describe('ffmpeg through kestrel presign put-media', () => {
  it('stores fragments pushed to the presigned URL; the bare URL is refused', async () => {
    const file = await makeH264Mkv({ seconds: 4, fps: 25, gop: 25, audio: false });
    const presigned = await kestrel(['presign', 'put-media', '--stream', 'signed-cam', '--expires', '10m']);
    expect(presigned.code, presigned.stderr).toBe(0);
    const url = presigned.stdout.trim();
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/putMedia\?x-amzn-stream-name=signed-cam&.*X-Amz-Algorithm=AWS4-HMAC-SHA256.*&X-Amz-Signature=[0-9a-f]{64}$/);
    const oneClusterPerGop = ['-c', 'copy', '-f', 'matroska', '-cluster_size_limit', '10M', '-cluster_time_limit', '10000', '-method', 'POST'];
    await runFfmpeg(['-i', file, ...oneClusterPerGop, url]);
    // ffmpeg exits once it has written; the server may still be persisting the last fragment.
    const stored = await waitForFragments(srv.url, 'signed-cam', 4);
    // ffmpeg does not read the response while uploading, so it may or may not notice the 403: what counts is that nothing is stored.
    await runFfmpeg(['-i', file, ...oneClusterPerGop, `${srv.url}/putMedia?x-amzn-stream-name=signed-cam&x-amzn-fragment-timecode-type=ABSOLUTE`]).catch(() => undefined);
    expect((await listAll(srv.url, 'signed-cam')).length).toBe(stored.length);
  });

  it('presign needs credentials and a sane expiry', async () => {
    const none = await kestrel(['presign', 'put-media', '--stream', 's'], {});
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no credentials: pass --access-key-id and --secret-access-key, or set KESTREL_ACCESS_KEY_ID/);
    const tooLong = await kestrel(['presign', 'put-media', '--stream', 's', '--expires', '8d']);
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toMatch(/--expires must be between 1 second and 7 days/);
  });
});

describe('kestrel users and keys', () => {
  it('adds a producer, issues it a key that works only in scope, changes its role, revokes the key, removes the user', async () => {
    const add = await kestrel(['users', 'add', 'yard', '--role', 'producer', '--producer-scope', 'yard-*', '--password', '-'], testAuthEnv, 'yard-password-1\n');
    expect(add.code, add.stderr).toBe(0);
    expect(add.stdout).toMatch(/added yard \(producer\)/);
    const created = await kestrel(['keys', 'create', '--user', 'yard', '--json']);
    expect(created.code, created.stderr).toBe(0);
    const key = JSON.parse(created.stdout) as { accessKeyId: string; secretAccessKey: string };
    const asYard = { KESTREL_ACCESS_KEY_ID: key.accessKeyId, KESTREL_SECRET_ACCESS_KEY: key.secretAccessKey };
    // A producer cannot manage users.
    const denied = await kestrel(['users', 'list'], asYard);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/403/);
    const listed = await kestrel(['keys', 'list', '--user', 'yard']);
    expect(listed.stdout).toContain(key.accessKeyId);
    expect(listed.stdout).not.toContain(key.secretAccessKey);
    const role = await kestrel(['users', 'set-role', 'yard', 'viewer']);
    expect(role.stdout).toMatch(/yard is now viewer/);
    expect((await kestrel(['users', 'list'])).stdout).toMatch(/^yard\tviewer$/m);
    const revoke = await kestrel(['keys', 'revoke', key.accessKeyId]);
    expect(revoke.code, revoke.stderr).toBe(0);
    expect((await kestrel(['keys', 'list', '--user', 'yard'])).stdout.trim()).toBe('');
    expect((await kestrel(['users', 'remove', 'yard'])).code).toBe(0);
    expect((await kestrel(['users', 'list'])).stdout).not.toMatch(/^yard/m);
  });

  it('refuses to run without credentials', async () => {
    const r = await kestrel(['users', 'list'], {});
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/no credentials/);
  });
});
