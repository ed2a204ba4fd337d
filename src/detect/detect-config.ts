/** Per-stream detection settings with defaults; unknown keys and bad values fail early (clear messages, for the API). */
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
  /** Lifecycle: end an object not seen for this long (also on wall-clock when the stream goes silent). */
  endAfterMs: number;
  /** Lifecycle: a best-score rise that triggers an update. */
  scoreDelta: number;
  /** Input idle this long (no new fragment): flush the decoder so the newest frames are analysed. */
  idleFlushMs: number;
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
  idleFlushMs: 2000,
});

export const DETECT_CONFIG_KEYS: readonly (keyof DetectConfig)[] = Object.keys(DEFAULT_DETECT_CONFIG) as (keyof DetectConfig)[];
const KEYS = new Set<string>(DETECT_CONFIG_KEYS);
const MOTION_KEYS = new Set(['gridWidth', 'pixelThreshold', 'areaThreshold']);

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const fail = (msg: string): never => {
  throw new Error(`detect config: ${msg}`);
};

/** Checks that `partial` is a plain object with known keys only (no value checks). */
export function checkDetectConfigKeys(partial: unknown): asserts partial is Partial<DetectConfig> {
  if (typeof partial !== 'object' || partial === null || Array.isArray(partial)) fail('must be a JSON object');
  for (const k of Object.keys(partial as object)) if (!KEYS.has(k)) fail(`unknown option "${k}"`);
}

export function resolveDetectConfig(partial: Partial<DetectConfig> = {}): DetectConfig {
  checkDetectConfigKeys(partial);
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<DetectConfig>;
  const c: DetectConfig = { ...DEFAULT_DETECT_CONFIG, zones: [], labels: [...DEFAULT_DETECT_CONFIG.labels], motion: {}, ...defined };
  if (typeof c.enabled !== 'boolean') fail('enabled must be true or false');
  if (typeof c.motionGate !== 'boolean') fail('motionGate must be true or false');
  if (c.sampling !== 'keyframes' && !(isNum(c.sampling) && c.sampling > 0 && c.sampling <= 60)) {
    fail('sampling must be a fps in (0, 60] or "keyframes"');
  }
  if (!(isNum(c.scoreThreshold) && c.scoreThreshold >= 0 && c.scoreThreshold <= 1)) fail('scoreThreshold must be in 0..1');
  if (!(isNum(c.minBoxArea) && c.minBoxArea >= 0 && c.minBoxArea <= 1)) fail('minBoxArea must be in 0..1');
  if (!(isNum(c.iouThreshold) && c.iouThreshold > 0 && c.iouThreshold <= 1)) fail('iouThreshold must be in (0, 1]');
  if (!(Number.isInteger(c.minHits) && c.minHits >= 1)) fail('minHits must be an integer >= 1');
  if (!(isNum(c.endAfterMs) && c.endAfterMs > 0)) fail('endAfterMs must be > 0');
  if (!(isNum(c.scoreDelta) && c.scoreDelta >= 0)) fail('scoreDelta must be >= 0');
  if (!(isNum(c.idleFlushMs) && c.idleFlushMs >= 100)) fail('idleFlushMs must be >= 100');
  if (!Array.isArray(c.labels) || c.labels.some((l) => typeof l !== 'string' || l === '')) fail('labels must be an array of label names');
  if (c.labels.length === 0) fail('labels must not be empty');
  if (typeof c.motion !== 'object' || c.motion === null || Array.isArray(c.motion)) fail('motion must be an object');
  for (const [k, v] of Object.entries(c.motion)) {
    if (!MOTION_KEYS.has(k)) fail(`unknown motion option "${k}"`);
    if (!(isNum(v) && v >= 0)) fail(`motion.${k} must be a number >= 0`);
  }
  if (!Array.isArray(c.zones)) fail('zones must be an array');
  for (const z of c.zones as unknown[]) {
    const zone = z as Partial<Zone> | null;
    if (typeof zone !== 'object' || zone === null || typeof zone.name !== 'string' || !Array.isArray(zone.points)) {
      fail('each zone needs a name and points [[x, y], ...]');
    }
    if (zone!.points!.some((p) => !Array.isArray(p) || p.length !== 2 || !isNum(p[0]) || !isNum(p[1]))) fail(`zone ${zone!.name}: points must be [x, y] pairs`);
    const err = validateZone(zone as Zone);
    if (err) fail(err);
  }
  return c;
}

/** Layers partial configs, later ones winning per top-level key (`motion` merges per field). */
export function mergeDetectConfig(...layers: ReadonlyArray<Partial<DetectConfig> | undefined>): Partial<DetectConfig> {
  const out: Partial<DetectConfig> = {};
  for (const l of layers) {
    if (!l) continue;
    for (const [k, v] of Object.entries(l) as [keyof DetectConfig, unknown][]) {
      if (v === undefined) continue;
      if (k === 'motion' && out.motion && typeof v === 'object' && v !== null) out.motion = { ...out.motion, ...(v as MotionGateOptions) };
      else (out as Record<string, unknown>)[k] = v;
    }
  }
  return out;
}
