import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { loadConfig } from './config';

const root = join(__dirname, '..', '..');
const ctx = { baseDir: root, hostname: 'docs' };

describe('documented configuration', () => {
  it('bootstrap.toml.example parses and sets every section', () => {
    const c = loadConfig(readFileSync(join(root, 'bootstrap.toml.example'), 'utf8'), 'bootstrap.toml.example', ctx);
    assert.equal(c.node.name, 'node-a');
    assert.ok(c.https !== undefined);
    assert.equal(c.auth.tokens.length, 2);
    assert.ok(c.auth.adminPasswordHash !== undefined);
    assert.equal(c.recursion.mode, 'forward');
    assert.deepEqual(
      c.recursion.upstreams.map((u) => u.transport),
      ['udp', 'tcp', 'https'],
    );
    assert.equal(c.recursion.rootHints.length, 2);
    assert.equal(c.dnssec.enabled, true);
    assert.deepEqual(
      c.dnssec.trustAnchors.map((a) => a.keyTag),
      [20326, 38696],
    );
  });

  it('every TOML block in the README parses', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const blocks = [...readme.matchAll(/```toml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    assert.ok(blocks.length >= 2, 'the README has TOML examples');
    blocks.forEach((b, i) => assert.doesNotThrow(() => loadConfig(b, `README block ${i + 1}`, ctx), `README TOML block ${i + 1}`));
  });
});
