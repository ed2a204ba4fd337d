/**
 * `kestrel users …` and `kestrel keys …`: the admin API (/api/v1/users, /api/v1/keys) from the
 * command line, signed with admin credentials.
 */
import { signedFetch, type SigningContext } from '../client/signed-fetch.ts';
import { parseArgs, stringFlag, UsageError, type ParsedArgs } from './args.ts';
import { clientCredentials, clientRegion, CREDENTIAL_FLAGS, CREDENTIAL_USAGE } from './credentials.ts';

const COMMON = `  --endpoint URL   server (default $KESTREL_ENDPOINT or http://127.0.0.1:8080); --json prints raw JSON
${CREDENTIAL_USAGE}`;

export const USERS_USAGE = `users list | add NAME --role ROLE [--password P] [--producer-scope a,b-*]
      | set-password NAME --password P | set-role NAME ROLE [--producer-scope a,b-*] | remove NAME
  Manage users (admin credentials needed). Roles: admin, operator (streams, detection, jobs),
  viewer (read and watch), producer (PutMedia, DescribeStream, GetDataEndpoint on its scope:
  stream names, or prefixes ending in *). --password - reads the password from stdin.
${COMMON}`;

export const KEYS_USAGE = `keys list [--user NAME] | create --user NAME | revoke KEY_ID
  Manage access keys (admin credentials needed). create prints the secret once; revoke takes
  effect at once.
${COMMON}`;

const VALUE_FLAGS = ['endpoint', 'role', 'password', 'producer-scope', 'user', ...CREDENTIAL_FLAGS];

interface Ctx {
  endpoint: string;
  signing: SigningContext;
  json: boolean;
}

function context(args: ParsedArgs): Ctx {
  const endpoint = stringFlag(args, 'endpoint', 'KESTREL_ENDPOINT', 'http://127.0.0.1:8080')!.replace(/\/+$/, '');
  if (!URL.canParse(endpoint)) throw new UsageError('--endpoint must be a URL');
  return { endpoint, signing: { credentials: clientCredentials(args), region: clientRegion() }, json: args.flags.has('json') };
}

async function call<T>(ctx: Ctx, method: string, path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await signedFetch(`${ctx.endpoint}${path}`, {
      method,
      ...(body !== undefined ? { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) } : {}),
      signal: AbortSignal.timeout(30_000),
    }, ctx.signing);
  } catch (err) {
    throw new Error(`cannot reach ${ctx.endpoint}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
  }
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch {
    parsed = { message: text };
  }
  if (!res.ok) {
    const p = parsed as { message?: string; Message?: string };
    throw new Error(`${method} ${path}: ${res.status} ${p.message ?? p.Message ?? text}`);
  }
  return parsed as T;
}

async function readPassword(args: ParsedArgs): Promise<string> {
  const p = stringFlag(args, 'password');
  if (p === undefined) throw new UsageError('--password P is required (or --password - to read it from stdin)');
  if (p !== '-') return p;
  const chunks: Buffer[] = [];
  for await (const c of process.stdin as AsyncIterable<Buffer>) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

const scopeOf = (args: ParsedArgs): string[] | undefined => stringFlag(args, 'producer-scope')?.split(',').map((s) => s.trim()).filter(Boolean);
const print = (ctx: Ctx, value: unknown, human: () => string) => process.stdout.write((ctx.json ? JSON.stringify(value, null, 2) : human()) + '\n');
const enc = encodeURIComponent;

interface UserView {
  name: string;
  role: string;
  producerScope?: string[];
  hasPassword: boolean;
}
interface KeyView {
  accessKeyId: string;
  user: string;
  createdAt: number;
}

function arg(args: ParsedArgs, i: number, what: string): string {
  const v = args.positionals[i];
  if (!v) throw new UsageError(`missing ${what}`);
  return v;
}

export async function users(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv, ['json'], VALUE_FLAGS);
  const sub = args.positionals[0];
  const ctx = context(args);
  switch (sub) {
    case 'list': {
      const out = await call<{ users: UserView[] }>(ctx, 'GET', '/api/v1/users');
      print(ctx, out, () => out.users.map((u) => `${u.name}\t${u.role}${u.producerScope ? `\t${u.producerScope.join(',')}` : ''}${u.hasPassword ? '' : '\t(no password)'}`).join('\n'));
      return;
    }
    case 'add': {
      const name = arg(args, 1, 'NAME');
      const role = stringFlag(args, 'role');
      if (!role) throw new UsageError('--role ROLE is required');
      const scope = scopeOf(args);
      const body = { name, role, ...(args.flags.has('password') ? { password: await readPassword(args) } : {}), ...(scope ? { producerScope: scope } : {}) };
      const out = await call<{ user: UserView }>(ctx, 'POST', '/api/v1/users', body);
      print(ctx, out, () => `added ${out.user.name} (${out.user.role})`);
      return;
    }
    case 'set-password': {
      const name = arg(args, 1, 'NAME');
      const out = await call<{ user: UserView }>(ctx, 'PATCH', `/api/v1/users/${enc(name)}`, { password: await readPassword(args) });
      print(ctx, out, () => `password of ${out.user.name} changed`);
      return;
    }
    case 'set-role': {
      const name = arg(args, 1, 'NAME');
      const role = arg(args, 2, 'ROLE');
      const scope = scopeOf(args);
      const out = await call<{ user: UserView }>(ctx, 'PATCH', `/api/v1/users/${enc(name)}`, { role, ...(scope ? { producerScope: scope } : {}) });
      print(ctx, out, () => `${out.user.name} is now ${out.user.role}${out.user.producerScope ? ` (${out.user.producerScope.join(',')})` : ''}`);
      return;
    }
    case 'remove': {
      const name = arg(args, 1, 'NAME');
      const out = await call(ctx, 'DELETE', `/api/v1/users/${enc(name)}`);
      print(ctx, out, () => `removed ${name} and its keys`);
      return;
    }
    default:
      throw new UsageError(sub ? `unknown users command "${sub}"` : 'missing a users command');
  }
}

export async function keys(argv: readonly string[]): Promise<void> {
  const args = parseArgs(argv, ['json'], VALUE_FLAGS);
  const sub = args.positionals[0];
  const ctx = context(args);
  switch (sub) {
    case 'list': {
      const user = stringFlag(args, 'user');
      const out = await call<{ keys: KeyView[] }>(ctx, 'GET', user ? `/api/v1/users/${enc(user)}/keys` : '/api/v1/keys');
      print(ctx, out, () => out.keys.map((k) => `${k.accessKeyId}\t${k.user}\t${new Date(k.createdAt).toISOString()}`).join('\n'));
      return;
    }
    case 'create': {
      const user = stringFlag(args, 'user');
      if (!user) throw new UsageError('--user NAME is required');
      const out = await call<{ accessKeyId: string; secretAccessKey: string }>(ctx, 'POST', `/api/v1/users/${enc(user)}/keys`);
      print(ctx, out, () => `AccessKeyId: ${out.accessKeyId}\nSecretAccessKey: ${out.secretAccessKey}\n(the secret is shown only now)`);
      return;
    }
    case 'revoke': {
      const id = arg(args, 1, 'KEY_ID');
      const out = await call(ctx, 'DELETE', `/api/v1/keys/${enc(id)}`);
      print(ctx, out, () => `revoked ${id}`);
      return;
    }
    default:
      throw new UsageError(sub ? `unknown keys command "${sub}"` : 'missing a keys command');
  }
}
