import Link from 'next/link';
import { problemText } from '@/app/_lib/api-types';
import { firstParam, requireOperator } from '@/app/_lib/operator';
import { formatBytes } from '@/components/format';
import { DeleteKeyButton } from '@/components/kv/DeleteKeyButton';
import { Flash } from '@/components/kv/Flash';
import { FolderTrail } from '@/components/kv/FolderTrail';
import { listLevel, readKey, type LevelItem } from './kv-api';
import { browseHref, folderOf, keyHref, newKeyHref, withNotice } from './kv-shared';

export const dynamic = 'force-dynamic';

/** Rows per page of a listing; the keys on a page are read one by one for their facts. */
const PAGE_SIZE = 100;

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

const nameCell = { whiteSpace: 'normal', overflowWrap: 'anywhere', fontWeight: 'normal' } as const;

/**
 * KV browse: one level under a prefix (`/kv?prefix=config/`, bookmarkable) like a
 * file browser: folders to open, keys with their size, flags and last index, each
 * to open or delete; and a link to create a key there.
 */
export default async function KvBrowsePage({ searchParams }: { searchParams: SearchParams }) {
  const operator = await requireOperator();
  const sp = await searchParams;
  const prefix = firstParam(sp.prefix) ?? '';
  const page = Math.max(1, Number.parseInt(firstParam(sp.page) ?? '1', 10) || 1);
  const deleted = firstParam(sp.deleted);
  const folder = folderOf(prefix);
  const listing = await listLevel(operator, prefix);

  return (
    <>
      <h1>KV</h1>
      {deleted !== undefined && <Flash text={`Deleted “${deleted}”.`} cleanHref={browseHref(prefix, page)} testId="kv-flash" />}
      <form method="get" action="/kv" role="search" aria-label="Keys by prefix" className="row">
        <label>
          Prefix
          <input name="prefix" defaultValue={prefix} className="mono" placeholder="e.g. config/" spellCheck={false} autoCapitalize="off" data-testid="kv-prefix" />
        </label>
        <button type="submit" className="secondary" data-testid="kv-prefix-go">
          Browse
        </button>
        <Link href={newKeyHref(folder)} data-testid="kv-new-link" style={{ padding: '0.4rem 0' }}>
          New key{folder === '' ? '' : ` in ${folder}`}
        </Link>
      </form>
      <FolderTrail folder={folder} current={prefix} />
      {!listing.ok ? (
        <p className="error" data-testid="kv-error">
          Cannot list “{prefix}”: {problemText(listing.problem)}
        </p>
      ) : listing.items.length === 0 ? (
        <p className="muted" data-testid="kv-empty">
          {prefix === '' ? 'The store holds no keys yet. ' : `No keys start with “${prefix}”. `}
          <Link href={newKeyHref(folder)}>Create one</Link>.
        </p>
      ) : (
        <Listing operator={operator} prefix={prefix} page={page} items={listing.items} total={listing.total} index={listing.index} />
      )}
    </>
  );
}

/** One page of a listing as a table, with the keys' facts read now. */
async function Listing(props: { operator: string; prefix: string; page: number; items: LevelItem[]; total: number; index: number }) {
  const { prefix, items } = props;
  const pages = Math.max(1, Math.ceil(items.length / PAGE_SIZE));
  const page = Math.min(props.page, pages);
  const shown = items.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE);
  const facts = new Map(
    await Promise.all(
      shown.filter((i) => i.kind === 'key').map(async (i) => {
        const r = await readKey(props.operator, i.key);
        return [i.key, r.ok ? r.key : null] as const;
      }),
    ),
  );
  const folders = items.filter((i) => i.kind === 'folder').length;
  const keys = items.length - folders;
  const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
  return (
    <>
      <div className="table-wrap">
        <table data-testid="kv-table">
          <caption style={{ textAlign: 'left' }}>
            {prefix === '' ? 'At the top' : <>Under “<span className="mono">{prefix}</span>”</>}: {plural(folders, 'folder', 'folders')} and{' '}
            {plural(keys, 'key', 'keys')}
            {props.total > keys ? `; ${plural(props.total, 'key', 'keys')} in all` : ''}. <span className="muted">Store index {props.index}.</span>
          </caption>
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col" className="num">
                Size
              </th>
              <th scope="col" className="num">
                Flags
              </th>
              <th scope="col" className="num">
                Index
              </th>
              <th scope="col">
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {shown.map((item) => {
              if (item.kind === 'folder') {
                return (
                  <tr key={`f:${item.prefix}`} data-testid={`kv-folder-${item.prefix}`}>
                    <th scope="row" style={nameCell}>
                      <Link href={browseHref(item.prefix)} className="mono" aria-label={`Folder ${item.name}, ${plural(item.keys, 'key', 'keys')}`}>
                        {item.name}
                      </Link>
                    </th>
                    <td className="num muted" style={{ whiteSpace: 'nowrap' }}>
                      {plural(item.keys, 'key', 'keys')}
                    </td>
                    <td />
                    <td />
                    <td />
                  </tr>
                );
              }
              const k = facts.get(item.key);
              return (
                <tr key={`k:${item.key}`} data-testid={`kv-key-${item.key}`}>
                  <th scope="row" style={nameCell}>
                    <Link href={keyHref(item.key)} className="mono">
                      {item.name}
                    </Link>
                  </th>
                  {k === null || k === undefined ? (
                    <td colSpan={4} className="muted">
                      deleted a moment ago
                    </td>
                  ) : (
                    <>
                      <td className="num" style={{ whiteSpace: 'nowrap' }} data-testid="kv-size">
                        {k.utf8 ? '' : <span className="tag">binary</span>}
                        {formatBytes(k.size)}
                      </td>
                      <td className="num" data-testid="kv-flags">
                        {k.flags}
                      </td>
                      <td className="num" data-testid="kv-index">
                        {k.modifyIndex}
                      </td>
                      <td>
                        <DeleteKeyButton
                          keyName={item.key}
                          modifyIndex={k.modifyIndex}
                          doneHref={withNotice(browseHref(prefix, page), 'deleted', item.key)}
                          testId={`kv-delete-${item.key}`}
                        />
                      </td>
                    </>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
      {pages > 1 && (
        <nav aria-label="Pages of this listing" className="row" style={{ marginTop: '0.75rem', alignItems: 'center' }}>
          {page > 1 ? <Link href={browseHref(prefix, page - 1)}>Previous page</Link> : null}
          <span className="muted">
            Page {page} of {pages}
          </span>
          {page < pages ? <Link href={browseHref(prefix, page + 1)}>Next page</Link> : null}
        </nav>
      )}
    </>
  );
}
