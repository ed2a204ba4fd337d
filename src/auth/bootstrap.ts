/**
 * Start-up identities: the `admin` user, its root access key and password. Given explicitly
 * (KESTREL_ACCESS_KEY_ID + KESTREL_SECRET_ACCESS_KEY, KESTREL_ADMIN_PASSWORD) they are created or
 * updated at every start; otherwise the first start generates them and writes `<data>/credentials`
 * (mode 0600). The secret and the password are never logged.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Logger } from '../shared/logger.ts';
import { newPassword } from './secrets.ts';
import { IdentityError, type IdentityStore } from './types.ts';

export const ROOT_USER = 'admin';
export const CREDENTIALS_FILE = 'credentials';

export interface BootstrapOptions {
  dataDir: string;
  rootAccessKeyId?: string;
  rootSecretAccessKey?: string;
  adminPassword?: string;
  log: Logger;
}

export async function bootstrapIdentities(store: IdentityStore, opts: BootstrapOptions): Promise<void> {
  if ((opts.rootAccessKeyId === undefined) !== (opts.rootSecretAccessKey === undefined)) {
    throw new Error('set both the access key id and the secret access key (KESTREL_ACCESS_KEY_ID and KESTREL_SECRET_ACCESS_KEY), or neither');
  }
  let admin = await store.getUser(ROOT_USER);
  // Nodes sharing an index may start together: the one that loses the create reads the winner's user.
  if (!admin) admin = await store.createUser({ name: ROOT_USER, role: 'admin' }).catch(async (err: unknown) => {
    if (err instanceof IdentityError && err.code === 'exists') return (await store.getUser(ROOT_USER))!;
    throw err;
  });
  else if (admin.role !== 'admin') admin = await store.updateUser(ROOT_USER, { role: 'admin' });

  const generated: string[] = [];
  if (opts.rootAccessKeyId !== undefined) {
    await store.createAccessKey(ROOT_USER, { accessKeyId: opts.rootAccessKeyId, secretAccessKey: opts.rootSecretAccessKey! });
  } else if ((await store.listAccessKeys(ROOT_USER)).length === 0) {
    const pair = await store.createAccessKey(ROOT_USER);
    generated.push(`KESTREL_ACCESS_KEY_ID=${pair.accessKeyId}`, `KESTREL_SECRET_ACCESS_KEY=${pair.secretAccessKey}`);
  }
  if (opts.adminPassword !== undefined) {
    if (!(await store.verifyPassword(ROOT_USER, opts.adminPassword))) await store.updateUser(ROOT_USER, { password: opts.adminPassword });
  } else if (!admin.hasPassword) {
    const password = newPassword();
    await store.updateUser(ROOT_USER, { password });
    generated.push(`KESTREL_ADMIN_USER=${ROOT_USER}`, `KESTREL_ADMIN_PASSWORD=${password}`);
  }
  if (generated.length === 0) return;
  const file = path.join(opts.dataDir, CREDENTIALS_FILE);
  const text = [
    `# Kestrel root credentials, generated ${new Date().toISOString()}. Keep this file private (docs/SECURITY.md).`,
    '# Use with: set -a; . ' + file + '; set +a   (kestrel CLI commands read these variables)',
    ...generated,
    '',
  ].join('\n');
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text, { mode: 0o600 });
  fs.renameSync(tmp, file);
  opts.log.warn({ file }, `generated root credentials for user "${ROOT_USER}": they are in ${file} (mode 0600)`);
}

/** `--insecure-no-auth` is refused unless the server listens on loopback only. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}
