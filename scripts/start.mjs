#!/usr/bin/env node
// npm start: build if the build is missing or older than the sources, then run the
// compiled server (dist/server/main.js) in this same process: one process, and the
// signals reach the appliance directly.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from './build-state.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
ensureBuilt(root);
if (args.includes('--build-only')) process.exit(0);
await import(join(root, 'dist', 'server', 'main.js'));
