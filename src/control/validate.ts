/**
 * Request validation for the control plane. KVS validates every member server-side (the SDK sends
 * whatever it is given, kvs-api.md §1), so each reader checks type, length, pattern, range or enum
 * and throws InvalidArgumentException naming the member. Unknown members are ignored; JSON null
 * counts as absent (the real service emits nulls and raw clients echo them back).
 */
import { invalidArgument } from '../shared/errors.ts';

export type JsonObject = Record<string, unknown>;

export interface StringRule {
  min?: number;
  max?: number;
  /** Must match the whole string. */
  pattern?: RegExp;
}

export interface IntRule {
  min?: number;
  max?: number;
}

export interface ListRule {
  minItems?: number;
  maxItems?: number;
  item?: StringRule;
}

export const isJsonObject = (value: unknown): value is JsonObject =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Typed, member-by-member access to one JSON object; `path` prefixes member names in messages. */
export class Fields {
  private constructor(
    readonly obj: JsonObject,
    private readonly path: string,
  ) {}

  /** The request body (or a nested structure) must be a JSON object. */
  static of(value: unknown, path = ''): Fields {
    if (!isJsonObject(value)) {
      throw invalidArgument(path ? `Invalid value at '${path}': must be an object.` : 'Request body must be a JSON object.');
    }
    return new Fields(value, path);
  }

  label(key: string): string {
    return this.path ? `${this.path}.${key}` : key;
  }

  /** The raw member, with null folded into undefined. */
  get(key: string): unknown {
    const value = Object.hasOwn(this.obj, key) ? this.obj[key] : undefined;
    return value === null ? undefined : value;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  optString(key: string, rule: StringRule = {}): string | undefined {
    const value = this.get(key);
    return value === undefined ? undefined : checkString(this.label(key), value, rule);
  }

  reqString(key: string, rule: StringRule = {}): string {
    return this.optString(key, rule) ?? this.missing(key);
  }

  optInt(key: string, rule: IntRule = {}): number | undefined {
    const value = this.get(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value)) throw this.bad(key, 'must be an integer');
    const { min = -Infinity, max = Infinity } = rule;
    if (value < min || value > max) throw this.bad(key, rangeText(min, max));
    return value;
  }

  reqInt(key: string, rule: IntRule = {}): number {
    return this.optInt(key, rule) ?? this.missing(key);
  }

  optEnum<T extends string>(key: string, allowed: readonly T[]): T | undefined {
    const value = this.get(key);
    if (value === undefined) return undefined;
    if (typeof value !== 'string') throw this.bad(key, 'must be a string');
    if (!(allowed as readonly string[]).includes(value)) throw this.bad(key, `must be one of ${allowed.join(', ')}`);
    return value as T;
  }

  reqEnum<T extends string>(key: string, allowed: readonly T[]): T {
    return this.optEnum(key, allowed) ?? this.missing(key);
  }

  optObject(key: string): Fields | undefined {
    const value = this.get(key);
    return value === undefined ? undefined : Fields.of(value, this.label(key));
  }

  reqObject(key: string): Fields {
    return this.optObject(key) ?? this.missing(key);
  }

  optStringList(key: string, rule: ListRule = {}): string[] | undefined {
    const value = this.get(key);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) throw this.bad(key, 'must be a list');
    const { minItems = 0, maxItems = Infinity, item = {} } = rule;
    if (value.length < minItems || value.length > maxItems) {
      throw this.bad(key, itemsText(minItems, maxItems));
    }
    return value.map((v: unknown, i) => checkString(`${this.label(key)}.${i}`, v, item));
  }

  reqStringList(key: string, rule: ListRule = {}): string[] {
    return this.optStringList(key, rule) ?? this.missing(key);
  }

  /** A list of objects (e.g. TagResource's [{Key, Value}]). */
  optObjectList(key: string, rule: Omit<ListRule, 'item'> = {}): Fields[] | undefined {
    const value = this.get(key);
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) throw this.bad(key, 'must be a list');
    const { minItems = 0, maxItems = Infinity } = rule;
    if (value.length < minItems || value.length > maxItems) {
      throw this.bad(key, itemsText(minItems, maxItems));
    }
    return value.map((v: unknown, i) => Fields.of(v, `${this.label(key)}.${i}`));
  }

  bad(key: string, problem: string): Error {
    return badValue(this.label(key), problem);
  }

  missing(key: string): never {
    throw invalidArgument(`Missing required parameter '${this.label(key)}'.`);
  }
}

const badValue = (label: string, problem: string): Error =>
  invalidArgument(`Invalid value at '${label}': ${problem}.`);

/** Checks one string value against a rule; `label` names it in the error message. */
export function checkString(label: string, value: unknown, rule: StringRule): string {
  if (typeof value !== 'string') throw badValue(label, 'must be a string');
  const { min = 0, max = Infinity, pattern } = rule;
  if (value.length < min || value.length > max) throw badValue(label, lengthText(min, max));
  if (pattern && !fullMatch(pattern, value)) throw badValue(label, `must match the pattern ${pattern.source}`);
  return value;
}

const anchoredCache = new WeakMap<RegExp, RegExp>();

/** Rules are written like the AWS model (unanchored); a value must match as a whole. */
function fullMatch(pattern: RegExp, value: string): boolean {
  let anchored = anchoredCache.get(pattern);
  if (!anchored) {
    anchored = new RegExp(`^(?:${pattern.source})$`, pattern.flags.replace(/[gy]/g, ''));
    anchoredCache.set(pattern, anchored);
  }
  return anchored.test(value);
}

function itemsText(min: number, max: number): string {
  return max === Infinity ? `must have at least ${min} items` : `must have between ${min} and ${max} items`;
}

function lengthText(min: number, max: number): string {
  if (max === Infinity) return `length must be at least ${min}`;
  return min === max ? `length must be ${min}` : `length must be between ${min} and ${max}`;
}

function rangeText(min: number, max: number): string {
  if (max === Infinity) return `must be at least ${min}`;
  if (min === -Infinity) return `must be at most ${max}`;
  return `must be between ${min} and ${max}`;
}

// ---- Member rules from the KVS API model (kvs-api.md §2.2, §9) ----

export const MAX_RETENTION_HOURS = 87_600;

export const STREAM_NAME: StringRule = { min: 1, max: 256, pattern: /[a-zA-Z0-9_.-]+/ };
export const STREAM_ARN: StringRule = {
  min: 1,
  max: 1024,
  pattern: /arn:[a-z\d-]+:kinesisvideo:[a-z0-9-]+:[0-9]+:[a-z]+\/[a-zA-Z0-9_.-]+\/[0-9]+/,
};
/** Any KVS resource ARN (stream or signaling channel) for the generic tagging operations. */
export const RESOURCE_ARN: StringRule = STREAM_ARN;
export const VERSION: StringRule = { min: 1, max: 64, pattern: /[a-zA-Z0-9]+/ };
export const DEVICE_NAME: StringRule = { min: 1, max: 128, pattern: /[a-zA-Z0-9_.-]+/ };
export const MEDIA_TYPE: StringRule = {
  min: 1,
  max: 128,
  pattern: /[\w\-.+]+\/[\w\-.+]+(,[\w\-.+]+\/[\w\-.+]+)*/,
};
export const KMS_KEY_ID: StringRule = { min: 1, max: 2048, pattern: /.+/s };
export const TAG_KEY: StringRule = { min: 1, max: 128, pattern: /[\p{L}\p{Z}\p{N}_.:/=+\-@]*/u };
export const TAG_VALUE: StringRule = { min: 0, max: 256, pattern: /[\p{L}\p{Z}\p{N}_.:/=+\-@]*/u };
export const NEXT_TOKEN: StringRule = { min: 0, max: 512, pattern: /[a-zA-Z0-9+/=]*/ };
export const RETENTION: IntRule = { min: 0, max: MAX_RETENTION_HOURS };
export const STORAGE_TIERS = ['HOT', 'WARM'] as const;
export const API_NAMES = [
  'PUT_MEDIA',
  'GET_MEDIA',
  'LIST_FRAGMENTS',
  'GET_MEDIA_FOR_FRAGMENT_LIST',
  'GET_HLS_STREAMING_SESSION_URL',
  'GET_DASH_STREAMING_SESSION_URL',
  'GET_CLIP',
  'GET_IMAGES',
] as const;
export type ApiName = (typeof API_NAMES)[number];
