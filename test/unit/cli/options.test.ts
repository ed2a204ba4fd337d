import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../../src/cli/args.ts';
import { readConfigFile } from '../../../src/cli/config-file.ts';
import { configFileSchema, optionsUsage, resolveOptions, types, type OptionSpec } from '../../../src/cli/options.ts';
import { parseServeArgs } from '../../../src/cli/serve.ts';
import { SERVE_OPTIONS } from '../../../src/cli/serve-options.ts';
import { closest, editDistance } from '../../../src/cli/suggest.ts';
import { UsageError } from '../../../src/cli/usage-error.ts';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kestrel-options-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};

/** The UsageError message of fn (fails the test when fn does not throw one). */
function usageMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as Error).message;
  }
  throw new Error('expected a UsageError');
}

const SPECS: OptionSpec[] = [
  { name: 'port', env: 'T_PORT', type: types.int(0, 65535), default: 8080, help: 'port' },
  { name: 'webhook-url', env: 'T_HOOK', type: types.url(['http:', 'https:']), help: 'hook' },
  { name: 'detect', env: 'T_DETECT', kind: 'switch', help: 'detect' },
  { name: 'allow-destination', env: 'T_ALLOW', kind: 'list', help: 'allow' },
  { name: 'secret', env: 'T_SECRET', cli: false, help: 'secret' },
  { name: 'config', key: false, help: 'config' },
];

describe('option table: precedence', () => {
  it('default < config file < env < flag, and records where each value came from', () => {
    const file = { path: 'k.yaml', data: { port: 1000, webhookUrl: 'http://file/', detect: true, allowDestination: ['https://a/*'] } };
    const fromFile = resolveOptions(SPECS, [], {}, file);
    expect([fromFile.number('port'), fromFile.string('webhook-url'), fromFile.flag('detect'), fromFile.list('allow-destination')]).toEqual([1000, 'http://file/', true, ['https://a/*']]);
    expect(fromFile.sources.get('port')).toBe('file');

    const fromEnv = resolveOptions(SPECS, [], { T_PORT: '2000', T_DETECT: 'off', T_ALLOW: 'https://b/*, https://c/*' }, file);
    expect([fromEnv.number('port'), fromEnv.flag('detect'), fromEnv.list('allow-destination')]).toEqual([2000, false, ['https://b/*', 'https://c/*']]);
    expect(fromEnv.label('port')).toBe('T_PORT');

    const fromFlags = resolveOptions(SPECS, ['--port', '3000', '--detect', '--allow-destination', 'https://d/*', '--allow-destination=https://e/*'], { T_PORT: '2000', T_DETECT: '0' }, file);
    expect([fromFlags.number('port'), fromFlags.flag('detect'), fromFlags.list('allow-destination')]).toEqual([3000, true, ['https://d/*', 'https://e/*']]);
    expect(fromFlags.sources.get('port')).toBe('flag');

    const defaults = resolveOptions(SPECS, [], { T_PORT: '' });
    expect(defaults.number('port')).toBe(8080);
    expect(defaults.sources.get('port')).toBe('default');
    expect(defaults.string('webhook-url')).toBeUndefined();
  });

  it('env-only options cannot be given as flags', () => {
    expect(resolveOptions(SPECS, [], { T_SECRET: 's' }).string('secret')).toBe('s');
    expect(usageMessage(() => resolveOptions(SPECS, ['--secret', 's'], {}))).toBe('unknown flag --secret');
  });

  it('asking for an option that is not in the table is a programming error', () => {
    expect(() => resolveOptions(SPECS, [], {}).get('prot')).toThrow(/no option named prot/);
  });
});

describe('option table: messages', () => {
  it('names the source of a bad value', () => {
    expect(usageMessage(() => resolveOptions(SPECS, ['--port', '70000'], {}))).toBe('--port must be an integer from 0 to 65535');
    expect(usageMessage(() => resolveOptions(SPECS, [], { T_PORT: 'eighty' }))).toBe('T_PORT must be an integer from 0 to 65535');
    expect(usageMessage(() => resolveOptions(SPECS, ['--webhook-url', 'ftp://x/'], {}))).toBe('--webhook-url must be http:// or https://');
    expect(usageMessage(() => resolveOptions(SPECS, ['--detect=maybe'], {}))).toMatch(/^--detect must be 1\/true\/yes\/on or 0\/false\/no\/off, not "maybe"$/);
    expect(usageMessage(() => resolveOptions(SPECS, ['--port'], {}))).toBe('--port needs a value');
    expect(usageMessage(() => resolveOptions(SPECS, ['--webhook-url', '--port', '1'], {}))).toBe('--webhook-url needs a value');
  });

  it('an unknown flag is an error with a "did you mean" hint when one is close', () => {
    expect(usageMessage(() => resolveOptions(SPECS, ['--webhok-url', 'http://x/'], {}))).toBe('unknown flag --webhok-url (did you mean --webhook-url?)');
    expect(usageMessage(() => resolveOptions(SPECS, ['--prot=1'], {}))).toBe('unknown flag --prot (did you mean --port?)');
    expect(usageMessage(() => resolveOptions(SPECS, ['--verbose'], {}))).toBe('unknown flag --verbose');
    expect(usageMessage(() => resolveOptions(SPECS, ['-x'], {}))).toBe('unknown flag -x');
    expect(usageMessage(() => parseServeArgs(['--webhok-url', 'http://x/'], {}))).toBe('unknown flag --webhok-url (did you mean --webhook-url?)');
  });

  it('the producer commands are strict too; their switches accept =false', () => {
    expect(usageMessage(() => parseArgs(['f', '--strem', 's'], ['create'], ['stream']))).toBe('unknown flag --strem (did you mean --stream?)');
    expect(parseArgs(['f', '--create=false', '--stream', 's'], ['create'], ['stream']).flags).toEqual(new Map([['stream', 's']]));
    expect(parseArgs(['-', '--create'], ['create'], ['stream'])).toEqual({ positionals: ['-'], flags: new Map([['create', true]]) });
  });

  it('edit distance and the closeness limit', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('prot', 'port')).toBe(1);
    expect(closest('webhok-url', ['webhook-url', 'mqtt-url'])).toBe('webhook-url');
    expect(closest('port', ['host'])).toBeUndefined();
    expect(closest('dat', ['data', 'detect'])).toBe('data');
  });
});

describe('config file', () => {
  it('reads YAML and JSON; flags and env override it', () => {
    const yaml = write('kestrel.yaml', `# a comment\nport: 9100\nhost: 0.0.0.0\ndata: ${dir}/data\nmetricsToken: s3cret\nclipMaxFragments: 50\n`);
    const c = parseServeArgs(['--config', yaml], {});
    expect(c).toMatchObject({ port: 9100, host: '0.0.0.0', dataDir: path.join(dir, 'data'), clipMaxFragments: 50, ops: { metricsToken: 's3cret' } });
    expect(parseServeArgs(['--config', yaml, '--port', '9200'], { KESTREL_PORT: '9300' }).port).toBe(9200);
    expect(parseServeArgs([], { KESTREL_CONFIG: yaml, KESTREL_PORT: '9300' }).port).toBe(9300);
    const json = write('kestrel.json', JSON.stringify({ port: 9400, detect: true, webhookUrl: 'https://hooks.example/in' }));
    expect(parseServeArgs(['--config', json], {})).toMatchObject({ port: 9400, detection: { enabled: true, webhookUrl: 'https://hooks.example/in' } });
    expect(parseServeArgs(['--config', write('empty.yaml', '')], {}).port).toBe(8080);
  });

  it('unknown keys get a hint; wrong types name the key; every problem is listed', () => {
    const file = write('typo.yaml', 'webhokUrl: http://x/\nport: "eighty"\nclipMaxBytes: -1\n');
    const message = usageMessage(() => parseServeArgs(['--config', file], {}));
    expect(message.split('\n').sort()).toEqual([
      `${file}: clipMaxBytes must be an integer >= 1`,
      `${file}: port must be an integer from 0 to 65535`,
      `${file}: unknown key "webhokUrl" (did you mean webhookUrl?)`,
    ]);
    expect(usageMessage(() => parseServeArgs(['--config', write('types.yaml', 'detect: maybe\n')], {}))).toBe(`${path.join(dir, 'types.yaml')}: detect must be 1/true/yes/on or 0/false/no/off, not "maybe"`);
  });

  it('unreadable, malformed or non-mapping files are usage errors', () => {
    expect(usageMessage(() => readConfigFile(path.join(dir, 'missing.yaml')))).toMatch(/cannot read config file .*missing\.yaml: ENOENT/);
    expect(usageMessage(() => readConfigFile(write('bad.yaml', 'port: [1,\n')))).toMatch(/bad\.yaml: not valid YAML/);
    expect(usageMessage(() => readConfigFile(write('bad.json', '{"port": }')))).toMatch(/bad\.json: not valid JSON/);
    expect(usageMessage(() => readConfigFile(write('list.yaml', '- port\n')))).toMatch(/top level must be a mapping/);
  });

  it('the schema and the usage text come from the same rows', () => {
    const keys = Object.keys((configFileSchema(SERVE_OPTIONS) as unknown as { shape: Record<string, unknown> }).shape);
    expect(keys).toContain('webhookUrl');
    expect(keys).toContain('metricsToken');
    expect(keys).not.toContain('config');
    const usage = optionsUsage(SERVE_OPTIONS);
    for (const s of SERVE_OPTIONS) {
      if (s.cli !== false) expect(usage).toContain(`--${s.name}`);
      if (s.env) expect(usage).toContain(s.env);
    }
  });
});
