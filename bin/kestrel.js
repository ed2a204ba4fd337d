#!/usr/bin/env node
// Entry point for the `kestrel` command. Runs the compiled JavaScript in dist/ (built by
// `npm ci` through the `prepare` script). KESTREL_FROM_SOURCE=1 runs src/ through tsx instead,
// for development without a rebuild.
import fs from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
let main;
if (process.env.KESTREL_FROM_SOURCE === '1' || !fs.existsSync(compiled)) {
  if (process.env.KESTREL_FROM_SOURCE !== '1') process.stderr.write('kestrel: dist/ is missing (run `npm run build`); running from source\n');
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../src/cli/main.ts'));
} else {
  ({ main } = await import(compiled.href));
}
await main(process.argv.slice(2));
