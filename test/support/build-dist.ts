/**
 * vitest globalSetup: the CLI tests spawn bin/kestrel.js, which runs the compiled dist/. Rebuild it
 * first when any source is newer than the last build, so tests never run stale JavaScript.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'web') newest = Math.max(newest, newestSource(full));
    } else if (/\.(ts|js)$/.test(entry.name)) {
      newest = Math.max(newest, fs.statSync(full).mtimeMs);
    }
  }
  return newest;
}

export default function setup(): void {
  const stamp = path.join(root, 'dist/.tsbuildinfo');
  const built = fs.existsSync(stamp) ? fs.statSync(stamp).mtimeMs : 0;
  if (newestSource(path.join(root, 'src')) <= built) return;
  execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
  // tsc leaves the stamp untouched when nothing needed emitting; touch it so the check settles.
  const now = new Date();
  fs.utimesSync(stamp, now, now);
}
