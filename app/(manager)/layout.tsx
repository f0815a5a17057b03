import type { ReactNode } from 'react';
import { requireOperator } from '@/app/_lib/operator';
import { Nav } from '@/components/Nav';
import { SignOutButton } from '@/components/SignOutButton';
import { getAppliance } from '@/lib/appliance';

export const dynamic = 'force-dynamic';

/** Every page of the manager: a session is required; the bar names the node and links the pages. */
export default async function ManagerLayout({ children }: { children: ReactNode }) {
  const operator = await requireOperator();
  const info = await getAppliance().info();
  return (
    <>
      <a className="skip" href="#content">
        Skip to content
      </a>
      <header className="bar">
        <p className="brand">
          nekoq-bootstrap <span className="muted">· {info.node}</span>
        </p>
        <Nav />
        <p className="who">
          <span className="muted">{operator}</span> <SignOutButton />
        </p>
      </header>
      <main id="content" tabIndex={-1}>
        {children}
      </main>
    </>
  );
}
