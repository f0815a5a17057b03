// A private DNS hierarchy for resolver tests: a root, two TLDs and leaf zones,
// each served by its own NSD on its own loopback address and port 53, so that
// an iterative resolver (ours, or Unbound from unbound.ts) follows real
// referrals from the root down. Linux delivers every 127/8 address on lo
// without configuration; iterative resolution sends to port 53 of the glue
// addresses, so the tree needs root and port 53 free on those addresses.
//
// The default tree (DEFAULT_TREE), all names under the TLDs `test.` and
// `example.`:
//
//   127.53.0.1   .               root; NS a.root-servers.test.
//   127.53.0.2   test.           alpha (glue), beta (NS ns.gamma.example., no
//                                glue), lame (NS at 127.53.0.10, which answers
//                                REFUSED for it), dead (NS at 127.53.0.99,
//                                where nothing listens)
//   127.53.0.3   example.        gamma (glue)
//   127.53.0.10  alpha.test.     the records most questions ask for
//   127.53.0.11  beta.test.      reached only through ns.gamma.example.
//   127.53.0.12  gamma.example.  holds ns.gamma.example. A 127.53.0.11
import { createSocket } from 'node:dgram';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNsd, type NsdServer } from './nsd';

/** TreeQuestion is one question that a resolver over the tree must answer as stated. */
export interface TreeQuestion {
  name: string;
  type: string;
  /** The rcode a resolver returns. */
  expect: 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL';
  /**
   * The answer section as normalizeRecord prints it without the TTL
   * ('owner CLASS TYPE rdata'), sorted; compare with recordsWithoutTtl(r.answer).sort().
   * This is what Unbound 1.17 returns (minimal-responses, no DNSSEC).
   */
  answer: string[];
  /** What the question exercises. */
  note: string;
}

/** TreeServer is one authoritative server of the tree: an address and the zones it alone serves. */
export interface TreeServer {
  /** Short label for messages, e.g. 'root', 'alpha'. */
  label: string;
  /** Loopback address the server listens on, port 53. */
  address: string;
  /** Zones served there: origin and zone-file text. */
  zones: { origin: string; text: string }[];
}

/** DnsTreeSpec describes a tree: its servers, the root hints a resolver starts from, and the questions to ask. */
export interface DnsTreeSpec {
  servers: TreeServer[];
  /** Root server names and addresses (the name must be absolute). */
  rootHints: { name: string; address: string }[];
  table: TreeQuestion[];
}

/** DnsTree is a running tree. */
export interface DnsTree {
  /** Each server's label, address and zone origins. */
  readonly servers: readonly { label: string; address: string; zones: readonly string[] }[];
  /** Every address a server listens on (port 53). */
  readonly addresses: readonly string[];
  /** Root hints as the appliance's `root_hints` takes them: 'name=address', e.g. 'a.root-servers.test.=127.53.0.1'. */
  readonly rootHints: readonly string[];
  /** The root hints as a named.root-style file (what Unbound's `root-hints:` reads). */
  readonly rootHintsText: string;
  /** The questions of the spec. */
  readonly table: readonly TreeQuestion[];
  /** stderr returns what every NSD has logged so far, each line prefixed with its server's label. */
  stderr(): string;
  /** stop terminates every NSD and removes the temporary zone directory; it never rejects and may be called twice. */
  stop(): Promise<void>;
}

const SOA_TIMERS = '1 7200 3600 1209600 300';

/** DEAD_ADDRESS is where dead.test. is delegated; nothing may listen there. */
export const DEAD_ADDRESS = '127.53.0.99';

/**
 * DEFAULT_TREE is the tree described at the top of this file. Its table leaves
 * out dead.test. (see DEAD_QUESTION): a resolver that waits for a timeout
 * there slows the whole table down.
 */
export const DEFAULT_TREE: DnsTreeSpec = {
  servers: [
    {
      label: 'root',
      address: '127.53.0.1',
      zones: [
        {
          origin: '.',
          text: `$ORIGIN .
$TTL 3600
@                    SOA  a.root-servers.test. hostmaster.nic.test. ${SOA_TIMERS}
@                    NS   a.root-servers.test.
test.                NS   ns1.nic.test.
example.             NS   ns1.nic.example.
a.root-servers.test. A    127.53.0.1
ns1.nic.test.        A    127.53.0.2
ns1.nic.example.     A    127.53.0.3
`,
        },
      ],
    },
    {
      label: 'test',
      address: '127.53.0.2',
      zones: [
        {
          origin: 'test.',
          text: `$ORIGIN test.
$TTL 3600
@                SOA  ns1.nic.test. hostmaster.nic.test. ${SOA_TIMERS}
@                NS   ns1.nic.test.
ns1.nic          A    127.53.0.2
a.root-servers   A    127.53.0.1
alpha            NS   ns1.alpha.test.
ns1.alpha        A    127.53.0.10
; no glue: the resolver must look up ns.gamma.example. itself
beta             NS   ns.gamma.example.
; 127.53.0.10 serves alpha.test. only and answers REFUSED for lame.test.
lame             NS   ns.lame.test.
ns.lame          A    127.53.0.10
; nothing listens on ${DEAD_ADDRESS}
dead             NS   ns.dead.test.
ns.dead          A    ${DEAD_ADDRESS}
`,
        },
      ],
    },
    {
      label: 'example',
      address: '127.53.0.3',
      zones: [
        {
          origin: 'example.',
          text: `$ORIGIN example.
$TTL 3600
@                SOA  ns1.nic.example. hostmaster.nic.example. ${SOA_TIMERS}
@                NS   ns1.nic.example.
ns1.nic          A    127.53.0.3
gamma            NS   ns1.gamma.example.
ns1.gamma        A    127.53.0.12
`,
        },
      ],
    },
    {
      label: 'alpha',
      address: '127.53.0.10',
      zones: [
        {
          origin: 'alpha.test.',
          text: `$ORIGIN alpha.test.
$TTL 3600
@                SOA  ns1.alpha.test. hostmaster.alpha.test. ${SOA_TIMERS}
@                NS   ns1.alpha.test.
ns1              A    127.53.0.10
www              A    192.0.2.1
www              AAAA 2001:db8::1
alias            CNAME www.beta.test.
dangling         CNAME nothing.beta.test.
mail             MX   10 www.alpha.test.
txt              TXT  "hello"
v4only           A    192.0.2.5
dn               DNAME beta.test.
*.wild           A    192.0.2.9
`,
        },
      ],
    },
    {
      label: 'beta',
      address: '127.53.0.11',
      zones: [
        {
          origin: 'beta.test.',
          text: `$ORIGIN beta.test.
$TTL 3600
@                SOA  ns.gamma.example. hostmaster.beta.test. ${SOA_TIMERS}
@                NS   ns.gamma.example.
www              A    192.0.2.2
chain            CNAME alias.alpha.test.
`,
        },
      ],
    },
    {
      label: 'gamma',
      address: '127.53.0.12',
      zones: [
        {
          origin: 'gamma.example.',
          text: `$ORIGIN gamma.example.
$TTL 3600
@                SOA  ns1.gamma.example. hostmaster.gamma.example. ${SOA_TIMERS}
@                NS   ns1.gamma.example.
ns1              A    127.53.0.12
; the server of beta.test.
ns               A    127.53.0.11
`,
        },
      ],
    },
  ],
  rootHints: [{ name: 'a.root-servers.test.', address: '127.53.0.1' }],
  table: [
    { name: 'www.alpha.test.', type: 'A', expect: 'NOERROR', answer: ['www.alpha.test. IN A 192.0.2.1'], note: 'plain A, glued delegation' },
    { name: 'www.alpha.test.', type: 'AAAA', expect: 'NOERROR', answer: ['www.alpha.test. IN AAAA 2001:db8::1'], note: 'plain AAAA' },
    {
      name: 'alias.alpha.test.',
      type: 'A',
      expect: 'NOERROR',
      answer: ['alias.alpha.test. IN CNAME www.beta.test.', 'www.beta.test. IN A 192.0.2.2'],
      note: 'CNAME into another zone (on another server, reached without glue)',
    },
    {
      name: 'chain.beta.test.',
      type: 'A',
      expect: 'NOERROR',
      answer: ['alias.alpha.test. IN CNAME www.beta.test.', 'chain.beta.test. IN CNAME alias.alpha.test.', 'www.beta.test. IN A 192.0.2.2'],
      note: 'two-hop CNAME chain across zones, back into the zone it started in',
    },
    {
      name: 'www.dn.alpha.test.',
      type: 'A',
      expect: 'NOERROR',
      answer: ['dn.alpha.test. IN DNAME beta.test.', 'www.beta.test. IN A 192.0.2.2', 'www.dn.alpha.test. IN CNAME www.beta.test.'],
      note: 'DNAME (RFC 6672 §3.1): the DNAME, the synthesized CNAME, then the target',
    },
    { name: 'www.beta.test.', type: 'A', expect: 'NOERROR', answer: ['www.beta.test. IN A 192.0.2.2'], note: 'delegation without glue: NS ns.gamma.example. resolved through example.' },
    { name: 'nope.alpha.test.', type: 'A', expect: 'NXDOMAIN', answer: [], note: 'NXDOMAIN from a leaf zone' },
    { name: 'nope.test.', type: 'A', expect: 'NXDOMAIN', answer: [], note: 'NXDOMAIN from a TLD' },
    { name: 'nope.invalid.', type: 'A', expect: 'NXDOMAIN', answer: [], note: 'NXDOMAIN from the root (no such TLD)' },
    {
      name: 'dangling.alpha.test.',
      type: 'A',
      expect: 'NXDOMAIN',
      answer: ['dangling.alpha.test. IN CNAME nothing.beta.test.'],
      note: 'CNAME to a name that does not exist: the rcode is the target\'s (RFC 6604 §2.1), the CNAME stays',
    },
    { name: 'v4only.alpha.test.', type: 'AAAA', expect: 'NOERROR', answer: [], note: 'NODATA: the name has A only' },
    { name: 'www.lame.test.', type: 'A', expect: 'SERVFAIL', answer: [], note: 'lame delegation: the only server answers REFUSED' },
    { name: 'mail.alpha.test.', type: 'MX', expect: 'NOERROR', answer: ['mail.alpha.test. IN MX 10 www.alpha.test.'], note: 'MX' },
    { name: 'txt.alpha.test.', type: 'TXT', expect: 'NOERROR', answer: ['txt.alpha.test. IN TXT "hello"'], note: 'TXT' },
    { name: 'x1.wild.alpha.test.', type: 'A', expect: 'NOERROR', answer: ['x1.wild.alpha.test. IN A 192.0.2.9'], note: 'wildcard (any unique label works: cache misses)' },
  ],
};

/**
 * DEAD_QUESTION asks below dead.test. of DEFAULT_TREE, delegated to an address
 * where nothing listens (the kernel answers ICMP port unreachable at once).
 * It is not in DEFAULT_TREE.table because it is slow: Unbound 1.17 gives up
 * after about 30 s (it logs SERVFAIL "upstream server timeout") and in our
 * runs the client got no reply at all within 120 s.
 */
export const DEAD_QUESTION: TreeQuestion = {
  name: 'www.dead.test.',
  type: 'A',
  expect: 'SERVFAIL',
  answer: [],
  note: 'delegation to an address where nothing listens',
};

/** recordsWithoutTtl drops the TTL from records normalized by normalizeRecord ('owner ttl CLASS TYPE rdata'). */
export function recordsWithoutTtl(records: readonly string[]): string[] {
  return records.map((r) => r.replace(/^(\S+) \d+ /, '$1 '));
}

/**
 * startDnsTree starts one NSD per server of `spec` (default DEFAULT_TREE) on
 * its address and port 53, with the zone files in a temporary directory, and
 * resolves once every zone answers its SOA with AA. It rejects before starting
 * anything when the process is not root or when port 53 (UDP or TCP) on one of
 * the addresses is taken, and with NSD's message when a server fails to start
 * (the others are stopped again).
 */
export async function startDnsTree(spec: DnsTreeSpec = DEFAULT_TREE): Promise<DnsTree> {
  const uid = process.getuid?.();
  if (uid !== 0) throw new Error(`dns tree: listening on port 53 needs root (running as uid ${uid ?? 'unknown'})`);
  const addresses = spec.servers.map((s) => s.address);
  const dup = addresses.find((a, i) => addresses.indexOf(a) !== i);
  if (dup !== undefined) throw new Error(`dns tree: two servers on ${dup}`);
  if (spec.rootHints.length === 0) throw new Error('dns tree: no root hints');
  for (const h of spec.rootHints) if (!h.name.endsWith('.')) throw new Error(`dns tree: root hint name ${h.name} is not absolute`);
  for (const a of addresses) await assertPort53Free(a);

  const dir = mkdtempSync(join(tmpdir(), 'nekoq-dns-tree-'));
  const started: { label: string; nsd: NsdServer }[] = [];
  const stopAll = async () => {
    await Promise.all(started.map((s) => s.nsd.stop()));
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const results = await Promise.allSettled(
      spec.servers.map(async (s) => {
        const zones = s.zones.map((z) => {
          const file = join(dir, `${s.label}-${z.origin === '.' ? 'root' : z.origin.replace(/\.$/, '')}.zone`);
          writeFileSync(file, z.text);
          return { name: z.origin, file };
        });
        const nsd = await startNsd(zones, { address: s.address, port: 53 });
        started.push({ label: s.label, nsd });
      }),
    );
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${spec.servers[i]!.label} (${spec.servers[i]!.address}): ${(r.reason as Error).message}`] : []));
    if (failed.length > 0) throw new Error(`dns tree: ${failed.join('\n')}`);
  } catch (e) {
    await stopAll();
    throw e;
  }

  let stopping: Promise<void> | undefined;
  return {
    servers: spec.servers.map((s) => ({ label: s.label, address: s.address, zones: s.zones.map((z) => z.origin) })),
    addresses,
    rootHints: spec.rootHints.map((h) => `${h.name}=${h.address}`),
    rootHintsText: namedRoot(spec.rootHints),
    table: spec.table,
    stderr: () =>
      started
        .flatMap((s) => s.nsd.stderr().split('\n').filter((l) => l !== '').map((l) => `${s.label}: ${l}`))
        .join('\n'),
    stop: () => (stopping ??= stopAll().catch(() => undefined)),
  };
}

/** namedRoot renders root hints in the layout of IANA's named.root (RFC 1035 §5 master file). */
function namedRoot(hints: { name: string; address: string }[]): string {
  const ns = hints.map((h) => `.                        3600000      NS    ${h.name}`);
  const a = hints.map((h) => `${h.name.padEnd(24)} 3600000      ${h.address.includes(':') ? 'AAAA' : 'A    '} ${h.address}`);
  return [...ns, ...a, ''].join('\n');
}

/** assertPort53Free binds UDP and TCP port 53 on `address` and lets go again; it throws naming what is in the way. */
async function assertPort53Free(address: string): Promise<void> {
  const udp = await new Promise<NodeJS.ErrnoException | undefined>((res) => {
    const u = createSocket('udp4');
    u.once('error', (e) => {
      try {
        u.close();
      } catch {
        // never bound
      }
      res(e);
    });
    u.bind(53, address, () => u.close(() => res(undefined)));
  });
  if (udp !== undefined) throw new Error(`dns tree: binding udp ${address}:53: ${portError(udp)}`);
  const tcp = await new Promise<NodeJS.ErrnoException | undefined>((res) => {
    const s = createServer();
    s.once('error', res);
    s.listen(53, address, () => s.close(() => res(undefined)));
  });
  if (tcp !== undefined) throw new Error(`dns tree: binding tcp ${address}:53: ${portError(tcp)}`);
}

function portError(e: NodeJS.ErrnoException): string {
  if (e.code === 'EADDRINUSE') return 'address in use (another DNS server, or one bound to 0.0.0.0:53?)';
  if (e.code === 'EADDRNOTAVAIL') return 'address not available (this system does not answer all of 127/8 on lo)';
  if (e.code === 'EACCES') return 'permission denied';
  return e.message;
}
