'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';

const PAGES = [
  ['/', 'Overview'],
  ['/services', 'Services'],
  ['/dns', 'DNS'],
  ['/kv', 'KV'],
  ['/peers', 'Peers'],
  ['/shutdown', 'Shutdown'],
] as const;

/** Nav links the manager's pages and marks the current one for screen readers (aria-current). */
export function Nav() {
  const path = usePathname();
  return (
    <nav aria-label="Pages">
      <ul className="nav">
        {PAGES.map(([href, label]) => {
          const current = href === '/' ? path === '/' : path === href || path.startsWith(`${href}/`);
          return (
            <li key={href}>
              <Link href={href} aria-current={current ? 'page' : undefined} data-testid={`nav-${label.toLowerCase()}`}>
                {label}
              </Link>
            </li>
          );
        })}
      </ul>
    </nav>
  );
}
