/**
 * Client credentials for the commands that call a server (push, ingest, analyze, worker, users,
 * keys, presign): `--access-key-id/--secret-access-key`, else KESTREL_ACCESS_KEY_ID /
 * KESTREL_SECRET_ACCESS_KEY, else AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
 */
import type { Credentials } from '../auth/sigv4.ts';
import { UsageError, type ParsedArgs } from './args.ts';

export const CREDENTIAL_USAGE = `  --access-key-id ID --secret-access-key SECRET   credentials (else env KESTREL_ACCESS_KEY_ID and
                   KESTREL_SECRET_ACCESS_KEY, else AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; a fresh
                   server writes its generated root key to <data>/credentials). Region: AWS_REGION or us-east-1.`;

export const CREDENTIAL_FLAGS = ['access-key-id', 'secret-access-key'] as const;

export function clientCredentials(args: ParsedArgs, env: NodeJS.ProcessEnv = process.env): Credentials {
  return credentialsFrom(args.flags.get('access-key-id'), args.flags.get('secret-access-key'), env);
}

/** The same rule from flag values already parsed (option-table commands). */
export function credentialsFrom(flagId: string | true | undefined, flagSecret: string | true | undefined, env: NodeJS.ProcessEnv = process.env): Credentials {
  if (flagId !== undefined || flagSecret !== undefined) {
    if (typeof flagId !== 'string' || typeof flagSecret !== 'string' || !flagId || !flagSecret) {
      throw new UsageError('give both --access-key-id and --secret-access-key');
    }
    return { accessKeyId: flagId, secretAccessKey: flagSecret };
  }
  for (const [id, secret] of [['KESTREL_ACCESS_KEY_ID', 'KESTREL_SECRET_ACCESS_KEY'], ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']] as const) {
    if (env[id] && env[secret]) return { accessKeyId: env[id], secretAccessKey: env[secret] };
  }
  throw new UsageError(
    'no credentials: pass --access-key-id and --secret-access-key, or set KESTREL_ACCESS_KEY_ID and KESTREL_SECRET_ACCESS_KEY ' +
      '(a fresh server writes its generated root key to <data>/credentials)',
  );
}

export function clientRegion(env: NodeJS.ProcessEnv = process.env): string {
  return env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
}
