/**
 * Stream tags. KVS has two wire shapes: a JSON map (CreateStream, TagStream, ListTags*) and a list of
 * {Key, Value} (TagResource). Both parse into a Map so that a key such as "__proto__" stays data.
 */
import { KvsError } from '../shared/errors.ts';
import { checkString, TAG_KEY, TAG_VALUE, type Fields } from './validate.ts';

export const MAX_TAGS_PER_STREAM = 50;

/** The map form: {"key": "value", ...}. Counts above 50 are left to mergeTags (its own error name). */
export function parseTagMap(f: Fields, key: string, minEntries = 0): Map<string, string> | undefined {
  const tags = f.optObject(key);
  if (!tags) return undefined;
  if (Object.keys(tags.obj).length < minEntries) throw f.bad(key, `must have at least ${minEntries} tag`);
  const out = new Map<string, string>();
  for (const name of Object.keys(tags.obj)) {
    checkKey(tags, name);
    // reqString: a null value is an error here, not a silent delete.
    out.set(name, tags.reqString(name, TAG_VALUE));
  }
  return out;
}

/** The list form: [{"Key": "k", "Value": "v"}, ...]. */
export function parseTagList(f: Fields, key: string): Map<string, string> | undefined {
  const items = f.optObjectList(key, { minItems: 1 });
  if (!items) return undefined;
  const out = new Map<string, string>();
  for (const item of items) out.set(item.reqString('Key', TAG_KEY), item.reqString('Value', TAG_VALUE));
  return out;
}

/** UntagStream / UntagResource TagKeyList. */
export function parseTagKeys(f: Fields, key: string): string[] {
  return f.reqStringList(key, { minItems: 1, maxItems: MAX_TAGS_PER_STREAM, item: TAG_KEY });
}

/** Adds or overwrites tags; the result may hold at most 50 (TagsPerResourceExceededLimitException). */
export function mergeTags(existing: Record<string, string>, add: ReadonlyMap<string, string>): Record<string, string> {
  const merged = new Map(Object.entries(existing));
  for (const [k, v] of add) merged.set(k, v);
  if (merged.size > MAX_TAGS_PER_STREAM) {
    throw new KvsError(
      'TagsPerResourceExceededLimitException',
      `A stream can have at most ${MAX_TAGS_PER_STREAM} tags; this request would leave it with ${merged.size}.`,
    );
  }
  return Object.fromEntries(merged);
}

export function removeTags(existing: Record<string, string>, keys: readonly string[]): Record<string, string> {
  const kept = new Map(Object.entries(existing));
  for (const k of keys) kept.delete(k);
  return Object.fromEntries(kept);
}

function checkKey(tags: Fields, name: string): void {
  checkString(`${tags.label(name)} (tag key)`, name, TAG_KEY);
}
