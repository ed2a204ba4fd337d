/**
 * Declarative command-line options. One row per option names its flag, env variable, config-file key,
 * value type and help text; the flag parser, the env lookup, the config-file schema and the usage text
 * are all derived from the rows, so a new option is one row (how: README.md in this folder).
 * Precedence: default < config file < env variable < flag.
 */
import { parseArgs as tokenize } from 'node:util';
import { z } from 'zod';
import { UsageError } from './usage-error.ts';
import { didYouMean } from './suggest.ts';

/** `value`: `--name V` / `--name=V`; `switch`: `--name` or `--name=false`; `list`: repeatable flag, comma-separated env. */
export type OptionKind = 'value' | 'switch' | 'list';

export interface OptionSpec {
  /** Flag name without dashes (`webhook-url`); also the option's id in code. */
  name: string;
  kind?: OptionKind;
  env?: string;
  /** Config-file key; default the camelCase name (`webhookUrl`); false: not settable in the file. */
  key?: string | false;
  /** false: env and file only (secrets should not sit on a command line, visible in `ps`). */
  cli?: boolean;
  /** Checks and converts a raw value: a string from a flag or env, or the file's value. Default text() (switch: bool()). */
  type?: z.ZodType;
  /** Placeholder in the usage text (`URL`). */
  arg?: string;
  help: string;
  /** The value when no source gives one (in the type's output form). */
  default?: unknown;
}

class Invalid {
  constructor(readonly message: string) {}
}

/** A zod type from a converter that returns the value or `invalid('must be …')`. */
export function convert<T>(fn: (v: unknown) => T | Invalid): z.ZodType<T> {
  return z.unknown().transform((v, ctx) => {
    const r = fn(v);
    if (r instanceof Invalid) {
      ctx.addIssue({ code: 'custom', message: r.message });
      return z.NEVER;
    }
    return r;
  }) as unknown as z.ZodType<T>;
}
export const invalid = (message: string): Invalid => new Invalid(message);

const TRUE = ['1', 'true', 'yes', 'on'];
const FALSE = ['', '0', 'false', 'no', 'off'];

/** Value types accepting both strings (flags, env) and the config file's native JSON/YAML values. */
export const types = {
  text: () => convert((v) => (typeof v === 'string' && v.trim() !== '' ? v : typeof v === 'number' ? String(v) : invalid('must be a non-empty string'))),
  int: (min: number, max?: number) =>
    convert((v) => {
      const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : NaN;
      const ok = Number.isSafeInteger(n) && n >= min && (max === undefined || n <= max);
      return ok ? n : invalid(max === undefined ? `must be an integer >= ${min}` : `must be an integer from ${min} to ${max}`);
    }),
  bool: () =>
    convert((v) => {
      if (typeof v === 'boolean') return v;
      const t = typeof v === 'string' ? v.trim().toLowerCase() : undefined;
      if (t !== undefined && TRUE.includes(t)) return true;
      if (t !== undefined && FALSE.includes(t)) return false;
      return invalid(`must be 1/true/yes/on or 0/false/no/off, not "${String(v)}"`);
    }),
  /** A URL; `protocols` e.g. ['http:', 'https:']. */
  url: (protocols?: readonly string[]) =>
    convert((v) => {
      if (typeof v !== 'string' || !URL.canParse(v)) return invalid(`must be a URL, not "${String(v)}"`);
      if (protocols && !protocols.includes(new URL(v).protocol)) return invalid(`must be ${protocols.map((p) => `${p}//`).join(' or ')}`);
      return v;
    }),
  oneOf: <const T extends string>(values: readonly T[]) =>
    convert((v) => (values.includes(v as T) ? (v as T) : invalid(`must be one of ${values.join(', ')}, not "${String(v)}"`))),
  /** For `list` options: strings from repeated flags, a comma-separated env value, or a file array. */
  strings: () =>
    convert((v) => {
      const items = typeof v === 'string' ? v.split(',') : Array.isArray(v) ? v : undefined;
      if (!items || !items.every((s) => typeof s === 'string')) return invalid('must be a list of strings');
      return (items as string[]).map((s) => s.trim()).filter((s) => s !== '');
    }),
};

export type Source = 'flag' | 'env' | 'file' | 'default';

/** A config file already read and parsed (see config-file.ts). */
export interface ConfigFileData {
  path: string;
  data: Record<string, unknown>;
}

export class ResolvedOptions {
  constructor(
    readonly positionals: string[],
    private readonly values: Map<string, unknown>,
    readonly sources: Map<string, Source>,
    private readonly specs: ReadonlyMap<string, OptionSpec>,
  ) {}

  /** The value, or undefined when no source set it and there is no default. */
  get<T = unknown>(name: string): T | undefined {
    if (!this.specs.has(name)) throw new Error(`no option named ${name}`);
    return this.values.get(name) as T | undefined;
  }
  string(name: string): string | undefined {
    return this.get<string>(name);
  }
  number(name: string): number | undefined {
    return this.get<number>(name);
  }
  flag(name: string): boolean {
    return this.get<boolean>(name) === true;
  }
  list(name: string): string[] {
    return this.get<string[]>(name) ?? [];
  }
  /** How to name where the value came from in a message: `--port`, `KESTREL_PORT`, `kestrel.yaml: port`. */
  label(name: string, file?: string): string {
    const spec = this.specs.get(name)!;
    const source = this.sources.get(name);
    if (source === 'env' && spec.env) return spec.env;
    if (source === 'file' && file) return `${file}: ${fileKey(spec)}`;
    return `--${name}`;
  }
}

export const camelCase = (name: string): string => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
export const fileKey = (spec: OptionSpec): string => (spec.key === false ? '' : (spec.key ?? camelCase(spec.name)));
const typeOf = (spec: OptionSpec): z.ZodType => spec.type ?? (spec.kind === 'switch' ? types.bool() : spec.kind === 'list' ? types.strings() : types.text());

/** The config-file schema: every option with a key, optional, and no other key. */
export function configFileSchema(specs: readonly OptionSpec[]): z.ZodType<Record<string, unknown>> {
  const shape: Record<string, z.ZodType> = {};
  for (const s of specs) if (s.key !== false) shape[fileKey(s)] = typeOf(s).optional();
  return z.strictObject(shape) as unknown as z.ZodType<Record<string, unknown>>;
}

/** Checks a config file against the schema: every problem as `file: key problem`, unknown keys with a hint. */
export function validateConfigFile(specs: readonly OptionSpec[], file: ConfigFileData): Record<string, unknown> {
  const result = configFileSchema(specs).safeParse(file.data);
  if (result.success) return result.data;
  const keys = specs.filter((s) => s.key !== false).map(fileKey);
  const problems = result.error.issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((k) => `${file.path}: unknown key "${k}"${didYouMean(k, keys)}`)
      : [`${file.path}: ${issue.path.map(String).join('.')} ${issue.message}`],
  );
  throw new UsageError(problems.join('\n'));
}

/**
 * Resolves every option from the command line, the env and an optional config file. Unknown flags,
 * missing values and invalid values are UsageErrors naming the source (`--port`, `KESTREL_PORT`, file key).
 */
export function resolveOptions(specs: readonly OptionSpec[], argv: readonly string[], env: NodeJS.ProcessEnv, file?: ConfigFileData): ResolvedOptions {
  const byName = new Map(specs.map((s) => [s.name, s]));
  const { positionals, flags } = parseFlags(specs, argv);
  const fromFile = file ? validateConfigFile(specs, file) : {};
  const values = new Map<string, unknown>();
  const sources = new Map<string, Source>();
  for (const spec of specs) {
    const envValue = spec.env !== undefined && env[spec.env] !== undefined && env[spec.env] !== '' ? env[spec.env] : undefined;
    const key = fileKey(spec);
    let raw: unknown;
    let source: Source;
    if (flags.has(spec.name)) [raw, source] = [flags.get(spec.name), 'flag'];
    else if (envValue !== undefined) [raw, source] = [envValue, 'env'];
    else if (key && fromFile[key] !== undefined) {
      values.set(spec.name, fromFile[key]);
      sources.set(spec.name, 'file');
      continue;
    } else {
      if (spec.default !== undefined) {
        values.set(spec.name, spec.default);
        sources.set(spec.name, 'default');
      }
      continue;
    }
    const parsed = typeOf(spec).safeParse(raw);
    if (!parsed.success) {
      const where = source === 'flag' ? `--${spec.name}` : spec.env!;
      throw new UsageError(`${where} ${parsed.error.issues[0]?.message ?? 'is invalid'}`);
    }
    values.set(spec.name, parsed.data);
    sources.set(spec.name, source);
  }
  return new ResolvedOptions(positionals, values, sources, byName);
}

/** Raw flag values by option name (strings; true for a bare switch; string[] for lists). */
export function parseFlags(specs: readonly OptionSpec[], argv: readonly string[]): { positionals: string[]; flags: Map<string, unknown> } {
  const cli = specs.filter((s) => s.cli !== false);
  const byName = new Map(cli.map((s) => [s.name, s]));
  const options = Object.fromEntries(cli.map((s) => [s.name, { type: s.kind === 'switch' ? ('boolean' as const) : ('string' as const) }]));
  const { tokens } = tokenize({ args: [...argv], options, strict: false, allowPositionals: true, tokens: true });
  const positionals: string[] = [];
  const flags = new Map<string, unknown>();
  for (const t of tokens) {
    if (t.kind === 'positional') positionals.push(t.value);
    if (t.kind !== 'option') continue;
    const spec = byName.get(t.name);
    if (!spec) throw new UsageError(`unknown flag ${t.rawName}${didYouMean(t.name, byName.keys(), '--')}`);
    if (spec.kind === 'switch') {
      flags.set(spec.name, t.value ?? true);
      continue;
    }
    // `--url --port 1` would otherwise take "--port" as the URL.
    if (t.value === undefined || (!t.inlineValue && t.value.startsWith('--'))) throw new UsageError(`--${spec.name} needs a value`);
    if (spec.kind === 'list') flags.set(spec.name, [...((flags.get(spec.name) as string[] | undefined) ?? []), t.value]);
    else flags.set(spec.name, t.value);
  }
  return { positionals, flags };
}

/** Usage lines for the options: `--name ARG   help (env NAME)`, help continuation lines aligned. */
export function optionsUsage(specs: readonly OptionSpec[], indent = '  '): string {
  const col = 26;
  return specs
    .map((s) => {
      const head = s.cli === false ? `(${s.env ?? fileKey(s)})` : `--${s.name}${s.kind === 'switch' ? '' : ` ${s.arg ?? 'VALUE'}`}${s.kind === 'list' ? ' …' : ''}`;
      const env = s.env && s.cli !== false ? ` (env ${s.env})` : '';
      const [first, ...rest] = `${s.help}${env}`.split('\n');
      const lines = [`${indent}${head.padEnd(col - 1)} ${first}`, ...rest.map((l) => `${indent}${' '.repeat(col)}${l.trim()}`)];
      return lines.join('\n');
    })
    .join('\n');
}
