import { getServerSession } from 'next-auth';
import { redirect } from 'next/navigation';
import { authOptions } from '@/app/auth-options';
import { SignOutButton } from '@/components/SignOutButton';
import { getAppliance } from '@/lib/appliance';

export const dynamic = 'force-dynamic';

function formatUptime(ms: number): string {
  const s = Math.floor(ms / 1000);
  const parts = [[Math.floor(s / 86400), 'd'], [Math.floor((s % 86400) / 3600), 'h'], [Math.floor((s % 3600) / 60), 'm'], [s % 60, 's']] as const;
  return parts.filter(([n], i) => n > 0 || i === 3).map(([n, u]) => `${n}${u}`).join(' ');
}

/** The overview: this node, its listeners, and the live services by type. */
export default async function OverviewPage() {
  const session = await getServerSession(authOptions());
  if (session === null) redirect('/login');
  const appliance = getAppliance();
  const [info, services] = await Promise.all([appliance.info(), appliance.registry.services()]);
  const byType = new Map<string, { services: number; instances: number }>();
  for (const s of services) {
    const t = byType.get(s.type) ?? { services: 0, instances: 0 };
    t.services += 1;
    t.instances += s.instances.length;
    byType.set(s.type, t);
  }
  return (
    <>
      <header className="bar">
        <h1>
          nekoq-bootstrap <span className="muted">· {info.node}</span>
        </h1>
        <SignOutButton />
      </header>
      <main>
        <h2>This node</h2>
        <dl className="facts" data-testid="node-facts">
          <dt>Node</dt>
          <dd data-testid="node-name">{info.node}</dd>
          <dt>Version</dt>
          <dd>{info.version}</dd>
          <dt>Uptime</dt>
          <dd>{formatUptime(Date.now() - info.startedAt)}</dd>
          {info.listeners.map((l) => (
            <div key={l.name} style={{ display: 'contents' }}>
              <dt>{l.name.toUpperCase()}</dt>
              <dd>{l.address}</dd>
            </div>
          ))}
        </dl>
        <h2>Services</h2>
        {byType.size === 0 ? (
          <p className="muted">No live instances.</p>
        ) : (
          <table data-testid="service-types">
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col">Services</th>
                <th scope="col">Live instances</th>
              </tr>
            </thead>
            <tbody>
              {[...byType].map(([type, t]) => (
                <tr key={type}>
                  <td>{type}</td>
                  <td>{t.services}</td>
                  <td>{t.instances}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </main>
    </>
  );
}
