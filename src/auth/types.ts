/** Identities, principals and the IdentityStore port (README.md in this folder). */

export const ROLES = ['admin', 'operator', 'viewer', 'producer'] as const;
export type Role = (typeof ROLES)[number];

export const isRole = (v: unknown): v is Role => typeof v === 'string' && (ROLES as readonly string[]).includes(v);

export interface User {
  name: string;
  role: Role;
  /** Producer role only: stream names; an entry ending in `*` is a name prefix. */
  producerScope?: string[];
  hasPassword: boolean;
  createdAt: number;
}

export interface AccessKeyInfo {
  accessKeyId: string;
  user: string;
  createdAt: number;
}

export interface NewUser {
  name: string;
  role: Role;
  password?: string;
  producerScope?: string[];
}

export interface UserPatch {
  role?: Role;
  password?: string;
  /** null clears the scope. */
  producerScope?: string[] | null;
}

export interface AccessKeyPair {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface IdentityStore {
  listUsers(): Promise<User[]>;
  getUser(name: string): Promise<User | undefined>;
  /** Throws IdentityError('exists') when the name is taken. */
  createUser(input: NewUser): Promise<User>;
  /** Throws IdentityError('not-found') for an unknown user. */
  updateUser(name: string, patch: UserPatch): Promise<User>;
  /** Deletes the user and its keys; false when there was no such user. */
  deleteUser(name: string): Promise<boolean>;
  /** The user when `password` matches; undefined otherwise (also for unknown users). */
  verifyPassword(name: string, password: string): Promise<User | undefined>;
  /** A new key pair for `user` (or the given pair, replacing a key with that id). */
  createAccessKey(user: string, explicit?: AccessKeyPair): Promise<AccessKeyPair>;
  listAccessKeys(user?: string): Promise<AccessKeyInfo[]>;
  revokeAccessKey(accessKeyId: string): Promise<boolean>;
  lookupAccessKey(accessKeyId: string): Promise<{ key: AccessKeyInfo; secretAccessKey: string; user: User } | undefined>;
}

export class IdentityError extends Error {
  constructor(
    readonly code: 'exists' | 'not-found' | 'invalid',
    message: string,
  ) {
    super(message);
  }
}

/** Who made a request, set on every request by the auth middleware. */
export interface Principal {
  user?: string;
  role?: Role;
  producerScope?: string[];
  via: 'sigv4' | 'session' | 'none';
}

export const ANONYMOUS: Principal = Object.freeze({ via: 'none' });

/** Server authentication settings (KestrelConfig.auth); docs/SECURITY.md. */
export interface AuthSettings {
  /** Development only, loopback only: no authentication at all. */
  insecureNoAuth?: boolean;
  /** Root admin key, created or updated at start (KESTREL_ACCESS_KEY_ID / KESTREL_SECRET_ACCESS_KEY). */
  rootAccessKeyId?: string;
  rootSecretAccessKey?: string;
  /** Password of the user `admin` (KESTREL_ADMIN_PASSWORD). */
  adminPassword?: string;
  /** KESTREL_SERVER_KEY; else `<data>/server.key`. */
  serverKey?: string;
}
