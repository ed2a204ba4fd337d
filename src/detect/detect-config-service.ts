/**
 * Per-stream detection config as the API sees it: the effective config with the source of each value,
 * and the API override (stored, validated, then applied to the running stream by restarting its
 * pipeline from its checkpoint).
 */
import { checkDetectConfigKeys, mergeDetectConfig, resolveDetectConfig, type DetectConfig } from './detect-config.ts';
import type { DetectConfigResolver, ResolvedDetectConfig } from './detect-config-resolver.ts';
import type { DetectConfigOverrides } from './detect-config-store.ts';
import type { DetectionWorker } from './worker.ts';

export interface StreamDetectionConfig extends ResolvedDetectConfig {
  /** Detection is running in this process (`serve --detect`). */
  detection: boolean;
  /** The stream's pipeline runs (enabled, valid config). */
  running: boolean;
}

/** A request the caller got wrong (→ HTTP 400 with the message). */
export class DetectConfigError extends Error {}

export class DetectConfigService {
  /** Set once in-process detection started; config changes are applied to it. */
  worker: DetectionWorker | undefined;

  constructor(readonly resolver: DetectConfigResolver, readonly overrides: DetectConfigOverrides) {}

  /** Effective config; an override that no longer validates (e.g. the file changed) is reported, not thrown. */
  async get(stream: string): Promise<StreamDetectionConfig & { error?: string }> {
    const override = await this.overrides.get(stream);
    let resolved: ResolvedDetectConfig;
    let error: string | undefined;
    try {
      resolved = this.resolver.resolve(stream, override);
    } catch (err) {
      error = (err as Error).message;
      resolved = { ...this.resolver.resolve(stream, null), override: override ?? null };
    }
    const out: StreamDetectionConfig & { error?: string } = {
      ...resolved,
      detection: this.worker !== undefined,
      running: this.worker?.streams.includes(stream) ?? false,
    };
    if (error) out.error = error;
    return out;
  }

  /** Replaces (or with `merge`, updates) the stream's override, then applies it. */
  async set(stream: string, body: unknown, merge = false): Promise<StreamDetectionConfig> {
    let partial: Partial<DetectConfig>;
    const current = merge ? await this.overrides.get(stream) : undefined;
    try {
      checkDetectConfigKeys(body);
      partial = merge ? mergeDetectConfig(current, body) : body;
      resolveDetectConfig(partial);
      this.resolver.resolve(stream, partial);
    } catch (err) {
      throw new DetectConfigError((err as Error).message);
    }
    await this.overrides.set(stream, partial);
    await this.apply(stream);
    return this.get(stream);
  }

  async clear(stream: string): Promise<StreamDetectionConfig> {
    if (await this.overrides.delete(stream)) await this.apply(stream);
    return this.get(stream);
  }

  private async apply(stream: string): Promise<void> {
    const w = this.worker;
    if (!w) return;
    // A stream created a moment ago may not be discovered yet.
    if (!(await w.reconfigure(stream)) && !w.streams.includes(stream)) await w.refresh();
  }
}
