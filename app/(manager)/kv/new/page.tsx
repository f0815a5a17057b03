import { firstParam, requireOperator } from '@/app/_lib/operator';
import { FolderTrail } from '@/components/kv/FolderTrail';
import { KeyCreator } from '@/components/kv/KeyCreator';
import { folderOf } from '../kv-shared';

export const dynamic = 'force-dynamic';

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

/** Create a key (`/kv/new?key=config/` starts the name in a folder); it is never written over an existing key. */
export default async function KvNewPage({ searchParams }: { searchParams: SearchParams }) {
  await requireOperator();
  const start = firstParam((await searchParams).key) ?? '';
  return (
    <>
      <FolderTrail folder={folderOf(start)} />
      <h1 id="kv-new-title">New key</h1>
      <KeyCreator key={start} start={start} />
    </>
  );
}
