import { problemText, type ServicesAnswer } from '@/app/_lib/api-types';
import { callApi, requireOperator } from '@/app/_lib/operator';
import { ServiceBrowser } from '@/components/services/ServiceBrowser';

export const dynamic = 'force-dynamic';

/** Services: every live instance by type and service, kept current by a blocking query (GET /v1/services). */
export default async function ServicesPage() {
  const operator = await requireOperator();
  const r = await callApi<ServicesAnswer>(operator, 'GET', '/v1/services');
  return (
    <>
      <h1>Services</h1>
      {r.ok ? <ServiceBrowser initial={r.data} /> : <p className="error">The registry did not answer: {problemText(r.problem!)}</p>}
    </>
  );
}
