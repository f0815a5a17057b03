import Link from 'next/link';
import { browseHref, folderTrail } from '@/app/(manager)/kv/kv-shared';

/** FolderTrail links every folder from the top down to `folder`, marking the one being shown (`current`). */
export function FolderTrail({ folder, current }: { folder: string; current?: string }) {
  const steps = [{ name: 'All keys', prefix: '' }, ...folderTrail(folder)];
  return (
    <nav aria-label="Folders" data-testid="kv-trail">
      <ol style={{ display: 'flex', flexWrap: 'wrap', gap: '0.25rem', listStyle: 'none', padding: 0, margin: '0.75rem 0' }}>
        {steps.map((s, i) => (
          <li key={s.prefix}>
            {i > 0 && (
              <span aria-hidden="true" className="muted" style={{ marginRight: '0.25rem' }}>
                ›
              </span>
            )}
            <Link href={browseHref(s.prefix)} className={i > 0 ? 'mono' : undefined} aria-current={s.prefix === current ? 'location' : undefined}>
              {s.name}
            </Link>
          </li>
        ))}
      </ol>
    </nav>
  );
}
