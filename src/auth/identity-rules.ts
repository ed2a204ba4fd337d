/** Validation shared by every IdentityStore implementation, and the producer-scope match. */
import { IdentityError, isRole, type NewUser, type UserPatch } from './types.ts';

const USER_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;
/** Stream names as KVS allows them ([a-zA-Z0-9_.-]), optionally ending in `*` for a prefix. */
const SCOPE_ENTRY = /^[a-zA-Z0-9_.-]{0,256}\*?$/;
const MIN_PASSWORD = 8;

export function checkUserName(name: unknown): string {
  if (typeof name !== 'string' || !USER_NAME.test(name)) {
    throw new IdentityError('invalid', 'User names are 1-64 characters: letters, digits, . _ @ - (starting with a letter or digit).');
  }
  return name;
}

export function checkPasswordRule(password: unknown): string {
  if (typeof password !== 'string' || password.length < MIN_PASSWORD || password.length > 1024) {
    throw new IdentityError('invalid', `Passwords are ${MIN_PASSWORD}-1024 characters.`);
  }
  return password;
}

export function checkScope(scope: unknown): string[] {
  if (!Array.isArray(scope) || scope.length === 0 || scope.length > 100) throw new IdentityError('invalid', 'producerScope is a list of 1-100 stream names or prefixes ending in *.');
  for (const s of scope) {
    if (typeof s !== 'string' || s === '' || s === '*' || !SCOPE_ENTRY.test(s)) {
      throw new IdentityError('invalid', `Invalid producerScope entry ${JSON.stringify(s)}: a stream name, or a name prefix ending in * (not * alone).`);
    }
  }
  return [...new Set(scope as string[])];
}

export function checkNewUser(input: NewUser): NewUser {
  checkUserName(input.name);
  if (!isRole(input.role)) throw new IdentityError('invalid', 'role must be one of admin, operator, viewer, producer.');
  if (input.password !== undefined) checkPasswordRule(input.password);
  if (input.producerScope !== undefined) checkScope(input.producerScope);
  if (input.role === 'producer' && input.producerScope === undefined) throw new IdentityError('invalid', 'A producer needs a producerScope (stream names or prefixes ending in *).');
  return input;
}

export function checkPatch(patch: UserPatch): UserPatch {
  if (patch.role !== undefined && !isRole(patch.role)) throw new IdentityError('invalid', 'role must be one of admin, operator, viewer, producer.');
  if (patch.password !== undefined) checkPasswordRule(patch.password);
  if (patch.producerScope !== undefined && patch.producerScope !== null) checkScope(patch.producerScope);
  return patch;
}

/** True when `stream` is named by the scope (exact name, or a prefix entry ending in `*`). */
export function inScope(scope: readonly string[] | undefined, stream: string): boolean {
  if (!scope) return false;
  return scope.some((s) => (s.endsWith('*') ? stream.startsWith(s.slice(0, -1)) : stream === s));
}
