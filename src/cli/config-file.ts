/** Reads `--config FILE`: YAML or JSON (by extension; anything else is read as YAML, a superset of JSON). */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { UsageError } from './usage-error.ts';
import type { ConfigFileData } from './options.ts';

export function readConfigFile(file: string): ConfigFileData {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  let data: unknown;
  try {
    data = path.extname(file).toLowerCase() === '.json' ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new UsageError(`${file}: not valid ${path.extname(file).toLowerCase() === '.json' ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
  // An empty file is an empty config.
  if (data === null || data === undefined) data = {};
  if (typeof data !== 'object' || Array.isArray(data)) throw new UsageError(`${file}: the top level must be a mapping of option names to values`);
  return { path: file, data: data as Record<string, unknown> };
}
