import { requireOperator } from '@/app/_lib/operator';
import { ShutdownControl } from '@/components/shutdown/ShutdownControl';
import { getAppliance } from '@/lib/appliance';

export const dynamic = 'force-dynamic';

/** Shutdown: stop this node gracefully, watching the drain. */
export default async function ShutdownPage() {
  await requireOperator();
  const info = await getAppliance().info();
  return (
    <>
      <h1>Shutdown</h1>
      <p>
        A graceful shutdown of <strong>{info.node}</strong>: /readyz turns 503, peers waiting on this node&apos;s change feed are told it is leaving,
        blocking queries are answered, the listeners close and requests in flight finish (up to the configured drain time), then the web manager
        stops, the store closes and the process exits with status 0. Instances registered here lose their lease holder; in a cluster, the peers
        keep serving what they pulled.
      </p>
      <ShutdownControl node={info.node} />
    </>
  );
}
