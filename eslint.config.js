// Lint rules, including the import boundaries between src/ areas. Each rule says why, so a
// failing import explains the architecture instead of just refusing.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const layer = (files, patterns) => ({
  files,
  rules: { 'no-restricted-imports': ['error', { patterns }] },
});

const pureMedia = (area) => [
  { group: ['node:fs', 'node:fs/*', 'node:net', 'node:http', 'node:child_process', 'fs', 'http', 'net'], message: `${area} is pure media code: no I/O (it must stay unit-testable with inline bytes and movable to a worker thread).` },
  { group: ['**/store/**', '**/api/**', '**/ingest/**', '**/archive/**', '**/control/**', '**/cli/**', '**/app.ts', '**/config.ts'], message: `${area} is a leaf: it may import only shared/ and other pure media areas.` },
];

const authBoundary = {
  group: ['**/api/**', '**/cli/**', '**/app.ts', '**/app-*.ts', '**/ingest/**', '**/archive/**', '**/control/**', '**/detect/**', '**/jobs/**', '**/store/sqlite-streams*', '**/store/sqlite-fragments*', '**/store/segment-store*'],
  message: 'auth/ decides who may do what: identities, SigV4 and the policy. It knows no use case; app.ts mounts its middleware and api/ its admin routes.',
};

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', 'test-artifacts/**', 'src/web/vendor/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { process: 'readonly', Buffer: 'readonly', console: 'readonly', setTimeout: 'readonly', clearTimeout: 'readonly', setInterval: 'readonly', clearInterval: 'readonly', setImmediate: 'readonly', URL: 'readonly', fetch: 'readonly' } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
    },
  },
  { files: ['src/**/*.ts'], rules: { 'no-console': ['error'] } },
  // The web viewer: plain browser ES modules (no build step); it never imports server code.
  {
    files: ['src/web/**/*.js'],
    languageOptions: {
      sourceType: 'module',
      globals: Object.fromEntries(
        ['window', 'document', 'location', 'history', 'navigator', 'localStorage', 'fetch', 'URL', 'URLSearchParams', 'Blob', 'atob',
          'AbortController', 'HTMLElement', 'Node', 'getComputedStyle', 'requestAnimationFrame', 'cancelAnimationFrame', 'ResizeObserver',
          'setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'console'].map((g) => [g, 'readonly']),
      ),
    },
    rules: { 'no-restricted-imports': ['error', { patterns: [{ group: ['**/*.ts', 'node:*'], message: 'The viewer runs in the browser: it talks to the server over HTTP only.' }] }] },
  },
  layer(['src/mkv/**/*.ts'], pureMedia('mkv')),
  layer(['src/mp4/**/*.ts'], pureMedia('mp4')),
  layer(['src/codec/**/*.ts'], pureMedia('codec')),
  layer(['src/ts/**/*.ts'], pureMedia('ts')),
  layer(['src/media/**/*.ts'], pureMedia('media')),
  layer(['src/hls/**/*.ts'], [
    ...pureMedia('hls'),
    { group: ['**/mkv/**', '**/mp4/**', '**/ts/**', '**/codec/**', '**/media/**'], message: 'hls/ renders playlists from plain descriptions: it imports nothing internal (the archive use case feeds it).' },
  ]),
  layer(['src/shared/**/*.ts'], [
    { group: ['**/store/**', '**/api/**', '**/ingest/**', '**/archive/**', '**/control/**', '**/cli/**', '**/mkv/**', '**/app.ts'], message: 'shared/ is the bottom layer: it imports nothing internal.' },
  ]),
  layer(['src/store/**/*.ts'], [
    { group: ['**/api/**', '**/ingest/**', '**/archive/**', '**/control/**', '**/cli/**', '**/mkv/**', '**/app.ts'], message: 'store/ keeps bytes and rows; it never parses media or knows HTTP.' },
  ]),
  layer(['src/ingest/**/*.ts', 'src/archive/**/*.ts', 'src/control/**/*.ts'], [
    { group: ['**/api/**', '**/cli/**', '**/app.ts', 'express'], message: 'Use cases do not know HTTP: only api/ does.' },
    { group: ['**/store/sqlite-*', '**/store/segment-store*'], message: 'Use cases depend on the store interfaces (store/types.ts), never on one implementation; app.ts picks it.' },
  ]),
  layer(['src/ingest/**/*.ts'], [
    { group: ['**/archive/**', '**/control/**', '**/api/**', '**/cli/**', '**/app.ts', 'express', '**/store/sqlite-*', '**/store/segment-store*'], message: 'Use cases never import each other, HTTP, or a storage implementation.' },
  ]),
  layer(['src/archive/**/*.ts'], [
    { group: ['**/ingest/**', '**/control/**', '**/api/**', '**/cli/**', '**/app.ts', 'express', '**/store/sqlite-*', '**/store/segment-store*'], message: 'Use cases never import each other, HTTP, or a storage implementation.' },
  ]),
  layer(['src/sealing/**/*.ts'], [
    { group: ['**/api/**', '**/cli/**', '**/app.ts', '**/app-*.ts', '**/ingest/**', '**/archive/**', '**/control/**', 'express', '**/store/sqlite-*', '**/store/segment-store*', '**/store/objects/s3-*', '**/store/objects/folder-*'], message: 'sealing/ moves media between the store ports (local log, index, object store) in the sealed-object format: no HTTP, no other use case, no storage implementation.' },
  ]),
  layer(['src/kvs-delivery/**/*.ts'], [
    { group: ['**/api/**', '**/cli/**', '**/app.ts', '**/app-*.ts', '**/ingest/**', '**/archive/**', '**/detect/**', 'express', '**/store/sqlite-*', '**/store/segment-store*'], message: 'kvs-delivery/ works after PERSISTED on what app.ts hands it (store interfaces, notify/ senders, media/ demux, control/ config types): no HTTP, no other use case, no storage implementation.' },
  ]),
  layer(['src/jobs/**/*.ts'], [
    { group: ['**/api/**', '**/cli/**', '**/app.ts', '**/app-*.ts', '**/ingest/**', '**/control/**', 'express', '**/store/sqlite-*', '**/store/segment-store*'], message: 'jobs/ is a use case over the store interfaces and the detection pipeline; app-jobs.ts wires the implementations.' },
  ]),
  layer(['src/outbound/**/*.ts'], [
    { group: ['**/store/**', '**/api/**', '**/ingest/**', '**/archive/**', '**/control/**', '**/cli/**', '**/notify/**', '**/kvs-delivery/**', '**/detect/**', '**/app.ts', '**/app-*.ts', '**/config.ts', 'express'], message: 'outbound/ is the one door for outbound calls (policy, timeouts, address checks): it imports only shared/ and node builtins, so every sender can use it.' },
  ]),
  layer(['src/bus/**/*.ts'], [
    { group: ['**/api/**', '**/ingest/**', '**/archive/**', '**/control/**', '**/cli/**', '**/detect/**', '**/jobs/**', '**/app.ts', '**/app-*.ts', '**/store/sqlite-*', '**/store/segment-store*', 'express'], message: 'bus/ carries fragment references between nodes: it knows the live feed and the store types, never a use case, HTTP or a storage implementation.' },
  ]),
  layer(['src/ops/**/*.ts'], [
    { group: ['**/store/**', '**/api/**', '**/ingest/**', '**/archive/**', '**/control/**', '**/cli/**', '**/app.ts', '**/app-*.ts', '**/kvs-delivery/**', '**/notify/**', '**/jobs/**'], message: 'ops/ defines health checks and metrics; components report through hooks app.ts wires, so ops/ imports no component (types from detect/types.ts only).' },
  ]),
  layer(['src/auth/**/*.ts'], [authBoundary]),
  // Later layers replace earlier patterns for the same files: repeat the boundary.
  layer(['src/auth/sigv4*.ts', 'src/auth/policy.ts', 'src/auth/identity-rules.ts', 'src/auth/types.ts'], [
    authBoundary,
    { group: ['node:fs', 'node:fs/*', 'node:net', 'node:http', 'fs', 'http', 'net', 'express', 'better-sqlite3'], message: 'SigV4, the policy and the identity rules are pure: no I/O (unit-tested with inline values; clients import the signer).' },
  ]),
  layer(['src/media-tools/**/*.ts', 'src/client/**/*.ts'], [
    { group: ['**/store/**', '**/api/**', '**/ingest/**', '**/archive/**', '**/control/**', '**/app.ts'], message: 'Clients and tool wrappers stand apart from the server internals.' },
  ]),
);
