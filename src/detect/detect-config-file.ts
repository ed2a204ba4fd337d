/**
 * The detection config file (`--detect-config FILE` / KESTREL_DETECT_CONFIG), JSON:
 *
 *   { "defaults": { "sampling": 2 }, "streams": { "cam1": { "scoreThreshold": 0.6 }, "garage-*": { "enabled": false } } }
 *
 * Stream keys are names or globs (`*` any run of characters, `?` one character). Every matching glob
 * applies, in file order, then the exact name last (so the most specific entry wins per key). The file
 * is re-read when its modification time changes; a bad edit is reported and the previous content kept.
 */
import fs from 'node:fs';
import { checkDetectConfigKeys, mergeDetectConfig, resolveDetectConfig, type DetectConfig } from './detect-config.ts';

export interface DetectConfigFileContent {
  defaults: Partial<DetectConfig>;
  streams: Record<string, Partial<DetectConfig>>;
}

/** One layer that contributed to a stream's config, for "where did this value come from". */
export interface ConfigLayer {
  /** `file:defaults` or `file:streams.<key>`. */
  source: string;
  config: Partial<DetectConfig>;
}

/** Validates parsed JSON as a config file (throws with a message naming the bad entry). */
export function parseDetectConfigFile(json: unknown, where = 'detect config file'): DetectConfigFileContent {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw new Error(`${where}: must be a JSON object`);
  const { defaults = {}, streams = {}, ...rest } = json as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length) throw new Error(`${where}: unknown key "${extra[0]}" (expected "defaults" and "streams")`);
  const check = (v: unknown, what: string): Partial<DetectConfig> => {
    try {
      checkDetectConfigKeys(v);
      resolveDetectConfig(v);
      return v;
    } catch (err) {
      throw new Error(`${where}: ${what}: ${(err as Error).message}`);
    }
  };
  const out: DetectConfigFileContent = { defaults: check(defaults, 'defaults'), streams: {} };
  if (typeof streams !== 'object' || streams === null || Array.isArray(streams)) throw new Error(`${where}: streams must be an object`);
  for (const [name, v] of Object.entries(streams)) {
    out.streams[name] = check(v, `streams.${name}`);
    // Each stream's layers on top of the defaults must also be valid together.
    check(mergeDetectConfig(out.defaults, out.streams[name]), `streams.${name} with defaults`);
  }
  return out;
}

export function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${body}$`);
}

const isGlob = (key: string) => /[*?]/.test(key);

/** The file's layers that apply to `stream`, lowest precedence first. */
export function fileLayers(content: DetectConfigFileContent | undefined, stream: string): ConfigLayer[] {
  if (!content) return [];
  const layers: ConfigLayer[] = [{ source: 'file:defaults', config: content.defaults }];
  for (const [key, config] of Object.entries(content.streams)) {
    if (isGlob(key) && globToRegExp(key).test(stream)) layers.push({ source: `file:streams.${key}`, config });
  }
  const exact = Object.hasOwn(content.streams, stream) && !isGlob(stream) ? content.streams[stream] : undefined;
  if (exact) layers.push({ source: `file:streams.${stream}`, config: exact });
  return layers;
}

export class DetectConfigFile {
  private content: DetectConfigFileContent;
  private mtimeMs: number;

  /** Reads and validates the file now (throws on a missing or bad file: fail at startup). */
  constructor(readonly file: string, private readonly onLog?: (line: string) => void) {
    const r = this.read();
    this.content = r.content;
    this.mtimeMs = r.mtimeMs;
  }

  private read(): { content: DetectConfigFileContent; mtimeMs: number } {
    const mtimeMs = fs.statSync(this.file).mtimeMs;
    const text = fs.readFileSync(this.file, 'utf8');
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (err) {
      throw new Error(`${this.file}: not valid JSON: ${(err as Error).message}`);
    }
    return { content: parseDetectConfigFile(json, this.file), mtimeMs };
  }

  /** Current content; re-reads the file when it changed on disk (keeps the old content if the new one is bad). */
  get(): DetectConfigFileContent {
    let mtimeMs: number;
    try {
      mtimeMs = fs.statSync(this.file).mtimeMs;
    } catch (err) {
      this.onLog?.(`${this.file}: ${(err as Error).message}; keeping the previous detection config`);
      return this.content;
    }
    if (mtimeMs !== this.mtimeMs) {
      this.mtimeMs = mtimeMs;
      try {
        this.content = this.read().content;
        this.onLog?.(`${this.file}: detection config reloaded`);
      } catch (err) {
        this.onLog?.(`${(err as Error).message}; keeping the previous detection config`);
      }
    }
    return this.content;
  }

  layers(stream: string): ConfigLayer[] {
    return fileLayers(this.get(), stream);
  }
}
