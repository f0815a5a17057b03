// Whether the production build (Next's .next/ and the compiled server in dist/) is
// missing or older than its sources, and how to make it. Used by start and test.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const SOURCE_DIRS = ['app', 'components', 'server', 'lib', 'public'];
const SOURCE_FILES = ['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.server.json', 'next.config.js'];
const OUTPUTS = ['dist/server/main.js', '.next/BUILD_ID'];

function newestIn(dir, newest = 0) {
  if (!existsSync(dir)) return newest;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) newest = newestIn(p, newest);
    else if (!entry.name.endsWith('.test.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** buildState returns { stale, reason } for the project at root. */
export function buildState(root) {
  const missing = OUTPUTS.find((o) => !existsSync(join(root, o)));
  if (missing) return { stale: true, reason: `${missing} is missing` };
  const built = Math.min(...OUTPUTS.map((o) => statSync(join(root, o)).mtimeMs));
  let newest = 0;
  for (const d of SOURCE_DIRS) newest = newestIn(join(root, d), newest);
  for (const f of SOURCE_FILES) if (existsSync(join(root, f))) newest = Math.max(newest, statSync(join(root, f)).mtimeMs);
  return newest > built ? { stale: true, reason: 'sources are newer than the build' } : { stale: false, reason: 'up to date' };
}

/** ensureBuilt runs `npm run build` when the build is stale; build output goes to stderr. Exits on failure. */
export function ensureBuilt(root) {
  const state = buildState(root);
  if (!state.stale) return;
  process.stderr.write(`building (${state.reason})…\n`);
  const r = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: ['ignore', 2, 2] });
  if (r.status !== 0) {
    process.stderr.write(`build failed (exit ${r.status ?? r.signal})\n`);
    process.exit(1);
  }
}
