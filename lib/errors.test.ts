import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ApiError, ERRORS, problemBody } from './errors';

describe('error catalogue', () => {
  it('every code is documented in the README, and every documented code exists', () => {
    const readme = readFileSync(join(__dirname, '..', 'README.md'), 'utf8');
    const section = readme.slice(readme.indexOf('### Error codes'));
    const documented = new Set([...section.matchAll(/^\| `([a-z_]+)` \| (\d{3}) \|/gm)].map((m) => `${m[1]} ${m[2]}`));
    const catalogued = new Set(Object.entries(ERRORS).map(([code, e]) => `${code} ${e.status}`));
    assert.deepEqual([...catalogued].filter((c) => !documented.has(c)), [], 'missing from README');
    assert.deepEqual([...documented].filter((c) => !catalogued.has(c)), [], 'documented but not in ERRORS');
  });

  it('renders RFC 9457 problem documents', () => {
    const body = problemBody(new ApiError('validation_failed', 'port: too big', { errors: [{ path: 'port', message: 'too big' }] }), '/v1/x');
    assert.deepEqual(body, {
      type: 'urn:nekoq:problem:validation_failed',
      title: ERRORS.validation_failed.title,
      status: 400,
      code: 'validation_failed',
      detail: 'port: too big',
      instance: '/v1/x',
      errors: [{ path: 'port', message: 'too big' }],
    });
  });
});
