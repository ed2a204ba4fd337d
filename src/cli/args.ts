/**
 * Flags of the producer and client commands (push, ingest, analyze): `--name value`, `--name=value`,
 * boolean `--flag`, positionals. Strict: an unknown flag is a UsageError with a "did you mean" hint.
 * (serve and worker use option tables: options.ts.)
 */
import { parseFlags, types, type OptionSpec } from './options.ts';
import { UsageError } from './usage-error.ts';

export { UsageError };

export interface ParsedArgs {
  positionals: string[];
  flags: Map<string, string | true>;
}

export function parseArgs(argv: readonly string[], booleanFlags: readonly string[], valueFlags: readonly string[]): ParsedArgs {
  const specs: OptionSpec[] = [
    ...booleanFlags.map((name) => ({ name, kind: 'switch' as const, help: '' })),
    ...valueFlags.map((name) => ({ name, help: '' })),
  ];
  const { positionals, flags } = parseFlags(specs, argv);
  // `--create=false` means off: a switch is present in the map only when on.
  for (const name of booleanFlags) {
    const v = flags.get(name);
    if (typeof v !== 'string') continue;
    const on = types.bool().safeParse(v);
    if (!on.success) throw new UsageError(`--${name} ${on.error.issues[0]?.message ?? 'is invalid'}`);
    if (on.data) flags.set(name, true);
    else flags.delete(name);
  }
  return { positionals, flags: flags as Map<string, string | true> };
}

export function stringFlag(args: ParsedArgs, name: string, env?: string, fallback?: string): string | undefined {
  const v = args.flags.get(name);
  if (typeof v === 'string') return v;
  if (v === true) throw new UsageError(`--${name} needs a value`);
  return (env !== undefined ? process.env[env] : undefined) ?? fallback;
}
