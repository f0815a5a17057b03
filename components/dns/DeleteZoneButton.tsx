'use client';

import { useRouter } from 'next/navigation';
import { deleteZone } from '@/app/(manager)/dns/actions';
import { problemText } from '@/app/_lib/api-types';
import { ConfirmButton } from '@/components/ConfirmButton';

/** DeleteZoneButton deletes a zone with all its records after the operator confirms, then returns to the zone list. */
export function DeleteZoneButton({ zone, rrsets }: { zone: string; rrsets: number }) {
  const router = useRouter();
  return (
    <ConfirmButton
      label="Delete zone"
      ariaLabel={`Delete zone ${zone}`}
      title={`Delete the zone ${zone}?`}
      message={
        <p>
          The zone <code>{zone}</code> and its {rrsets} RRsets are removed, here and on the peers, and the node stops answering for it at once. Export the zone file
          first to keep a copy.
        </p>
      }
      confirmLabel="Delete zone"
      testId="zone-delete"
      onConfirm={async () => {
        const r = await deleteZone(zone);
        if (!r.ok) return problemText(r.problem);
        router.push('/dns');
        return undefined;
      }}
    />
  );
}
