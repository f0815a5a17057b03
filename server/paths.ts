import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * appRoot is the directory holding the project's package.json: the same whether this
 * file runs from server/ (tsx) or from dist/server/ (compiled).
 */
export function appRoot(): string {
  let dir = __dirname;
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'nekoq-bootstrap') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error(`package.json of nekoq-bootstrap not found above ${__dirname}`);
    dir = up;
  }
}

/** appVersion is the version in package.json. */
export function appVersion(root: string): string {
  return (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
}
