import { UsageError } from './args.ts';
import { SERVE_USAGE, serve } from './serve.ts';
import { PUSH_USAGE, push } from './push.ts';
import { INGEST_USAGE, ingest } from './ingest.ts';
import { WORKER_USAGE, worker } from './worker.ts';
import { ANALYZE_USAGE, analyze } from './analyze.ts';
import { PRESIGN_USAGE, presign } from './presign.ts';
import { KEYS_USAGE, USERS_USAGE, keys, users } from './identities.ts';
import { MIGRATE_USAGE, migrate } from './migrate.ts';
import { REINDEX_USAGE, reindex } from './reindex.ts';

const COMMANDS: Record<string, { run: (argv: readonly string[]) => Promise<void>; usage: string }> = {
  serve: { run: serve, usage: SERVE_USAGE },
  push: { run: push, usage: PUSH_USAGE },
  ingest: { run: ingest, usage: INGEST_USAGE },
  worker: { run: worker, usage: WORKER_USAGE },
  analyze: { run: analyze, usage: ANALYZE_USAGE },
  presign: { run: presign, usage: PRESIGN_USAGE },
  users: { run: users, usage: USERS_USAGE },
  keys: { run: keys, usage: KEYS_USAGE },
  migrate: { run: (argv) => migrate(argv), usage: MIGRATE_USAGE },
  reindex: { run: reindex, usage: REINDEX_USAGE },
};

const HELP = `Kestrel — a self-hosted, wire-compatible Kinesis Video Streams server.

Commands:
${Object.values(COMMANDS)
  .map((c) => '  ' + c.usage.split('\n').join('\n  '))
  .join('\n\n')}
`;

export async function main(argv: readonly string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    process.stdout.write(HELP);
    return;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`kestrel: unknown command "${name}"\n\n${HELP}`);
    process.exitCode = 2;
    return;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(command.usage + '\n');
    return;
  }
  try {
    await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`kestrel ${name}: ${err.message}\n\nUsage: ${command.usage}\n`);
      process.exitCode = 2;
      return;
    }
    process.stderr.write(`kestrel ${name}: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
