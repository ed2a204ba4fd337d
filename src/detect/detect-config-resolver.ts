/**
 * A stream's effective detection config, layered (later wins per key):
 * built-in defaults < `settings` (programmatic, e.g. `DetectionSettings.detect`) < config file defaults
 * < config file stream entries (globs, then the exact name) < API override.
 */
import { DETECT_CONFIG_KEYS, mergeDetectConfig, resolveDetectConfig, type DetectConfig } from './detect-config.ts';
import type { ConfigLayer, DetectConfigFile } from './detect-config-file.ts';
import type { DetectConfigOverrides } from './detect-config-store.ts';

export interface ResolvedDetectConfig {
  stream: string;
  effective: DetectConfig;
  /** Per key: `default`, `settings`, `file:defaults`, `file:streams.<key>` or `api`. */
  sources: Record<keyof DetectConfig, string>;
  /** The API override, if any. */
  override: Partial<DetectConfig> | null;
  /** The config file entries that apply, lowest precedence first. */
  file: ConfigLayer[];
}

export interface DetectConfigResolverOptions {
  settings?: Partial<DetectConfig>;
  file?: DetectConfigFile;
  /** API overrides (in-process: the SQLite store). */
  overrides?: DetectConfigOverrides;
}

export class DetectConfigResolver {
  constructor(private readonly opts: DetectConfigResolverOptions = {}) {}

  get file(): DetectConfigFile | undefined {
    return this.opts.file;
  }

  /** The API override from the store (none without a store). */
  async override(stream: string): Promise<Partial<DetectConfig> | undefined> {
    return this.opts.overrides?.get(stream);
  }

  /** Every layer for the stream, lowest first, with the given API override. */
  layers(stream: string, override: Partial<DetectConfig> | null | undefined): ConfigLayer[] {
    const layers: ConfigLayer[] = [];
    if (this.opts.settings) layers.push({ source: 'settings', config: this.opts.settings });
    layers.push(...(this.opts.file?.layers(stream) ?? []));
    if (override) layers.push({ source: 'api', config: override });
    return layers;
  }

  /** Merged partial config (what the worker validates); `override` defaults to the store's. */
  async partial(stream: string, override?: Partial<DetectConfig> | null): Promise<Partial<DetectConfig>> {
    const o = override === undefined ? await this.override(stream) : override;
    return mergeDetectConfig(...this.layers(stream, o).map((l) => l.config));
  }

  /** `resolve` with the store's override. */
  async resolveStored(stream: string): Promise<ResolvedDetectConfig> {
    return this.resolve(stream, await this.override(stream));
  }

  /** Effective config with the source of every value; throws when the layers do not validate together. */
  resolve(stream: string, override: Partial<DetectConfig> | null | undefined): ResolvedDetectConfig {
    const layers = this.layers(stream, override);
    const effective = resolveDetectConfig(mergeDetectConfig(...layers.map((l) => l.config)));
    const sources = Object.fromEntries(DETECT_CONFIG_KEYS.map((k) => [k, 'default'])) as Record<keyof DetectConfig, string>;
    for (const l of layers) for (const k of Object.keys(l.config) as (keyof DetectConfig)[]) if (l.config[k] !== undefined) sources[k] = l.source;
    return { stream, effective, sources, override: override ?? null, file: layers.filter((l) => l.source.startsWith('file:')) };
  }
}
