import { Fragment } from 'react';

/** DnsName prints a domain name that may wrap after any of its dots on a narrow screen, and nowhere else. */
export function DnsName({ name }: { name: string }) {
  const labels = name.split('.');
  return (
    <>
      {labels.map((label, i) => (
        <Fragment key={i}>
          {label}
          {i < labels.length - 1 && (
            <>
              .<wbr />
            </>
          )}
        </Fragment>
      ))}
    </>
  );
}
