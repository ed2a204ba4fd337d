#!/usr/bin/env node
// Entry point for the `kestrel` command. Sources are TypeScript run through tsx's loader,
// so a fresh `npm ci` is all a user needs (no build step to forget).
import { register } from 'tsx/esm/api';
register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv.slice(2));
