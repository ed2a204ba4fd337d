/** Per-stream detection settings with defaults; unknown keys and bad values fail early. */
import type { MotionGateOptions } from './motion-gate.ts';
import { validateZone, type Zone } from './zones.ts';

export interface DetectConfig {
  /** false skips the stream. */
  enabled: boolean;
  /** Sampled frames per second (peers.md lesson 3: low rates), or keyframes only. */
  sampling: number | 'keyframes';
  /** Run the detector only on frames with motion (or while something is tracked). */
  motionGate: boolean;
  motion: MotionGateOptions;
  scoreThreshold: number;
  /** Minimum box area as a fraction of the frame (0..1). */
  minBoxArea: number;
  zones: Zone[];
  labels: string[];
  /** Tracker. */
  iouThreshold: number;
  minHits: number;
  /** Lifecycle: end an object not seen for this long. */
  endAfterMs: number;
  /** Lifecycle: a best-score rise that triggers an update. */
  scoreDelta: number;
}

export const DEFAULT_DETECT_CONFIG: Readonly<DetectConfig> = Object.freeze({
  enabled: true,
  sampling: 2,
  motionGate: true,
  motion: {},
  scoreThreshold: 0.5,
  minBoxArea: 0.001,
  zones: [],
  labels: ['person'],
  iouThreshold: 0.3,
  minHits: 2,
  endAfterMs: 5000,
  scoreDelta: 0.05,
});

const KEYS = new Set(Object.keys(DEFAULT_DETECT_CONFIG));

export function resolveDetectConfig(partial: Partial<DetectConfig> = {}): DetectConfig {
  for (const k of Object.keys(partial)) if (!KEYS.has(k)) throw new Error(`detect config: unknown option "${k}"`);
  const c: DetectConfig = { ...DEFAULT_DETECT_CONFIG, zones: [], labels: [...DEFAULT_DETECT_CONFIG.labels], motion: {}, ...partial };
  if (c.sampling !== 'keyframes' && !(typeof c.sampling === 'number' && c.sampling > 0 && c.sampling <= 60)) {
    throw new Error('detect config: sampling must be a fps in (0, 60] or "keyframes"');
  }
  if (!(c.scoreThreshold >= 0 && c.scoreThreshold <= 1)) throw new Error('detect config: scoreThreshold must be in 0..1');
  if (!(c.minBoxArea >= 0 && c.minBoxArea <= 1)) throw new Error('detect config: minBoxArea must be in 0..1');
  if (!(c.minHits >= 1)) throw new Error('detect config: minHits must be >= 1');
  if (!(c.endAfterMs > 0)) throw new Error('detect config: endAfterMs must be > 0');
  if (c.labels.length === 0) throw new Error('detect config: labels must not be empty');
  for (const z of c.zones) {
    const err = validateZone(z);
    if (err) throw new Error(`detect config: ${err}`);
  }
  return c;
}
