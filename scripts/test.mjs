#!/usr/bin/env node
// npm test: everything the suite needs, then the suite.
//  1. Debian packages the tests drive (chromium, dig, kdig, nsd, unbound, curl, openssl): installed
//     when missing and running as root, otherwise the run stops naming the command.
//  2. The production build, when missing or older than the sources.
//  3. Unit and integration tests (node:test, *.test.ts beside the code).
//  4. Browser tests (Playwright, e2e/*.spec.ts) against the built server.
// It ends with one line "tests: N passed, N failed" and exits non-zero on any failure.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from './build-state.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const SYSTEM = [
  { command: '/usr/bin/chromium', pkg: 'chromium', why: 'browser tests (Playwright)' },
  { command: '/usr/bin/dig', pkg: 'bind9-dnsutils', why: 'DNS tests (dig over UDP, TCP, DoH)' },
  { command: '/usr/bin/kdig', pkg: 'knot-dnsutils', why: 'DNS tests (kdig over UDP, TCP, DoH)' },
  { command: '/usr/sbin/nsd', pkg: 'nsd', why: 'DNS conformance tests (NSD as the reference server)' },
  { command: '/usr/sbin/unbound', pkg: 'unbound', why: 'resolver tests (Unbound as the reference resolver)' },
  { command: '/usr/bin/ldns-verify-zone', pkg: 'ldnsutils', why: 'DNSSEC tests (ldns-verify-zone checks the zones we sign)' },
  { command: '/usr/bin/curl', pkg: 'curl', why: 'DoH test (curl --doh-url)' },
  { command: '/usr/bin/openssl', pkg: 'openssl', why: 'test certificates for the HTTPS/DoH listener' },
];

function ensureSystemPackages() {
  const missing = SYSTEM.filter((s) => !existsSync(s.command));
  if (missing.length === 0) return;
  const pkgs = missing.map((s) => s.pkg);
  const cmd = `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
  if (process.getuid?.() !== 0) {
    process.stderr.write(`missing ${missing.map((s) => `${s.command} (${s.why})`).join(', ')}.\nRun as root: ${cmd}\n`);
    process.exit(1);
  }
  process.stderr.write(`installing ${pkgs.join(' ')} for the tests…\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [['update', '-q'], ['install', '-y', '-q', '--no-install-recommends', ...pkgs]]) {
    const r = spawnSync('apt-get', args, { stdio: ['ignore', 2, 2], env });
    if (r.status !== 0) {
      process.stderr.write(`apt-get ${args.join(' ')} failed; run: ${cmd}\n`);
      process.exit(1);
    }
  }
}

function findTests(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.name === 'node_modules' || e.name.startsWith('.')) continue;
    const p = join(dir, e.name);
    if (e.isDirectory()) findTests(p, out);
    else if (e.name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}

ensureSystemPackages();
ensureBuilt(root);

const only = process.argv.slice(2);
const unitFiles = ['lib', 'server'].flatMap((d) => findTests(join(root, d))).filter((f) => only.length === 0 || only.some((o) => f.includes(o)));
const tap = join(root, 'test-results', 'node-test.tap');
rmSync(join(root, 'test-results'), { recursive: true, force: true });
mkdirSync(join(root, 'test-results'), { recursive: true });

let passed = 0;
let failed = 0;
if (unitFiles.length > 0) {
  spawnSync(
    process.execPath,
    ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', '--test-reporter-destination=stdout',
      '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...unitFiles],
    { cwd: root, stdio: 'inherit' },
  );
  const summary = existsSync(tap) ? readFileSync(tap, 'utf8') : '';
  const count = (k) => Number(new RegExp(`^# ${k} (\\d+)$`, 'm').exec(summary)?.[1] ?? NaN);
  if (Number.isNaN(count('pass'))) {
    process.stderr.write('node:test did not report a summary\n');
    failed += 1;
  } else {
    passed += count('pass');
    failed += count('fail') + count('cancelled');
  }
}

if (only.length === 0 || only.some((o) => o.startsWith('e2e'))) {
  const json = join(root, 'test-results', 'playwright.json');
  spawnSync(join(root, 'node_modules', '.bin', 'playwright'), ['test', '--reporter=list,json'], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, PLAYWRIGHT_JSON_OUTPUT_NAME: json },
  });
  try {
    const stats = JSON.parse(readFileSync(json, 'utf8')).stats;
    passed += stats.expected + stats.flaky;
    failed += stats.unexpected;
  } catch {
    process.stderr.write('playwright did not report its results\n');
    failed += 1;
  }
}

process.stdout.write(`\ntests: ${passed} passed, ${failed} failed\n`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
