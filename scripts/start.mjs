#!/usr/bin/env node
// npm start: build if the build is missing or older than the sources, then run the
// compiled server (dist/server/main.js) in this same process: one process, and the
// signals reach the appliance directly.
import { dirname, join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from './build-state.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
ensureBuilt(root);
if (args.includes('--build-only')) process.exit(0);
// A larger young generation: fewer scavenges under request load (+9% heartbeats/s
// measured), at the cost of up to ~30 MB more RSS under load; idle RSS is unchanged.
setFlagsFromString('--max-semi-space-size=32');
await import(join(root, 'dist', 'server', 'main.js'));
