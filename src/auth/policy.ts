/**
 * Authorization: which operation a request is, what it needs, and whether a principal has it.
 * The one table of routes → operations; a route not in it needs `admin` (deny by default).
 */
import { inScope } from './identity-rules.ts';
import type { Principal, Role } from './types.ts';

/** public: no credentials; read: viewer and up; manage: operator and up; admin: admin only. */
export type Need = 'public' | 'read' | 'manage' | 'admin';

export interface Operation {
  name: string;
  /** aws: KVS-shaped call (AWS errors, SigV4 only); api: Kestrel's own JSON/SSE/snapshots (SigV4 or session). */
  kind: 'aws' | 'api' | 'public';
  need: Need;
  /** A producer may call it for a stream in its scope. */
  producer: boolean;
}

const AWS_READ = [
  'describeStream', 'listStreams', 'getDataEndpoint', 'listTagsForStream', 'ListTagsForResource',
  'describeImageGenerationConfiguration', 'describeNotificationConfiguration', 'describeStreamStorageConfiguration',
  'getMedia', 'getMediaForFragmentList', 'listFragments', 'getClip', 'getImages',
  'getHLSStreamingSessionURL', 'getDASHStreamingSessionURL',
];
const AWS_MANAGE = [
  'createStream', 'deleteStream', 'updateStream', 'updateDataRetention', 'tagStream', 'untagStream', 'TagResource', 'UntagResource',
  'updateImageGenerationConfiguration', 'updateNotificationConfiguration', 'updateStreamStorageConfiguration', 'putMedia',
];
/** What a producer needs besides PutMedia: find its stream and its data endpoint. */
const PRODUCER_OPS = new Set(['putMedia', 'describeStream', 'getDataEndpoint']);

const AWS_OPS = new Map<string, Need>([...AWS_READ.map((o) => [o, 'read'] as const), ...AWS_MANAGE.map((o) => [o, 'manage'] as const)]);

const PUBLIC_GET = [/^\/$/, /^\/index\.html$/, /^\/ui\//, /^\/favicon\.(svg|ico)$/, /^\/hls\/v1\//, /^\/dash\/v1\//, /^\/healthz$/, /^\/readyz$/];

/** Kestrel's own API: [method, path pattern, need]; first match wins. Add new routes here. */
const API_ROUTES: ReadonlyArray<readonly [string, RegExp, Need]> = [
  ['*', /^\/api\/v1\/(users|keys)(\/|$)/, 'admin'],
  ['GET', /^\/api\/v1\//, 'read'],
  ['GET', /^\/snapshots\//, 'read'],
  ['POST', /^\/api\/v1\/jobs(\/[^/]+\/cancel)?$/, 'manage'],
  ['*', /^\/api\/v1\/streams\/[^/]+\/detection$/, 'manage'],
  // Node-to-node edge-pull (api/internal-routes.ts) is served before user auth with a node token; never to users.
  ['*', /^\/internal\//, 'admin'],
];

export function operationOf(method: string, path: string): Operation {
  if (method === 'OPTIONS') return { name: 'preflight', kind: 'public', need: 'public', producer: false };
  if (method === 'GET' || method === 'HEAD') {
    if (PUBLIC_GET.some((re) => re.test(path))) return { name: 'public', kind: 'public', need: 'public', producer: false };
  }
  if (method === 'POST' && /^\/[A-Za-z]+$/.test(path)) {
    const name = path.slice(1);
    const need = AWS_OPS.get(name);
    // Unknown or not-implemented KVS operations: any signed caller learns it is not there.
    return { name, kind: 'aws', need: need ?? 'read', producer: PRODUCER_OPS.has(name) };
  }
  const m = method === 'HEAD' ? 'GET' : method;
  for (const [routeMethod, re, need] of API_ROUTES) {
    if ((routeMethod === '*' || routeMethod === m) && re.test(path)) return { name: `${m} ${path}`, kind: 'api', need, producer: false };
  }
  return { name: `${m} ${path}`, kind: path.startsWith('/api/') ? 'api' : 'aws', need: 'admin', producer: false };
}

const RANK: Record<Exclude<Role, 'producer'>, number> = { viewer: 1, operator: 2, admin: 3 };
const NEED_RANK: Record<Exclude<Need, 'public'>, number> = { read: 1, manage: 2, admin: 3 };

export type Decision = { allowed: true } | { allowed: false; reason: string };

/** Whether `principal` may run `op` (on `stream`, when the operation names one). */
export function authorize(principal: Principal, op: Operation, stream?: string): Decision {
  if (op.need === 'public') return { allowed: true };
  const role = principal.role;
  if (!role) return { allowed: false, reason: 'not authenticated' };
  if (role === 'producer') {
    if (!op.producer) return { allowed: false, reason: `role producer may not call ${op.name}` };
    if (stream === undefined || !inScope(principal.producerScope, stream)) {
      return { allowed: false, reason: `stream ${stream ?? '(none named)'} is outside the producer scope of ${principal.user}` };
    }
    return { allowed: true };
  }
  return RANK[role] >= NEED_RANK[op.need] ? { allowed: true } : { allowed: false, reason: `role ${role} may not call ${op.name}` };
}

/** The stream name a KVS call targets: StreamName, or the name inside StreamARN / ResourceARN. */
export function streamNameOf(fields: { StreamName?: unknown; StreamARN?: unknown; ResourceARN?: unknown }): string | undefined {
  if (typeof fields.StreamName === 'string') return fields.StreamName;
  const arn = typeof fields.StreamARN === 'string' ? fields.StreamARN : typeof fields.ResourceARN === 'string' ? fields.ResourceARN : undefined;
  const m = arn ? /^arn:[^:]*:kinesisvideo:[^:]*:[^:]*:stream\/([^/]+)\/\d+$/.exec(arn) : null;
  return m?.[1];
}
