import { createServer } from 'node:net';
import { startAppliance, type ApplianceProcess } from './appliance-process';

/** The secret every test cluster shares (the config wants at least 32 characters). */
export const CLUSTER_SECRET = 'test-cluster-secret-0123456789abcdef-xyz';

/** freePort asks the kernel for a free TCP port on 127.0.0.1 (the listeners need fixed ports: peers name them). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

export interface NodeSpec {
  readonly name: string;
  /** Names of the nodes this one pulls from. */
  readonly peers: readonly string[];
  readonly observer?: boolean;
  /** Defaults to CLUSTER_SECRET. */
  readonly secret?: string;
  /** Extra keys of [cluster]. */
  readonly clusterToml?: string;
  /** Extra TOML appended after the cluster section. */
  readonly toml?: string;
  readonly dataDir?: string;
  /** Use https:// peer URLs (the peers then need an [https] listener on their port). */
  readonly https?: { readonly cert: string; readonly key: string; readonly ca: string };
}

/**
 * TestCluster starts nodes as separate processes on 127.0.0.1 with fixed ports
 * chosen up front, so that each node's [[cluster.peers]] can name the others.
 */
export class TestCluster {
  readonly nodes = new Map<string, ApplianceProcess>();
  /** Port of each node by name, as promises: nodes started together must agree on each other's ports. */
  private readonly ports = new Map<string, Promise<number>>();
  private readonly specs = new Map<string, NodeSpec>();

  async start(spec: NodeSpec): Promise<ApplianceProcess> {
    this.specs.set(spec.name, spec);
    for (const n of [spec.name, ...spec.peers]) if (!this.ports.has(n)) this.ports.set(n, freePort());
    const port = await this.ports.get(spec.name)!;
    const peerPorts = new Map(await Promise.all(spec.peers.map(async (p) => [p, await this.ports.get(p)!] as const)));
    const scheme = spec.https === undefined ? 'http' : 'https';
    const peers = spec.peers.map((p) => `[[cluster.peers]]\nname = "${p}"\nurl = "${scheme}://127.0.0.1:${peerPorts.get(p)}"\n`).join('\n');
    const listen = spec.https === undefined
      ? `[http]\nlisten = "127.0.0.1:${port}"`
      : `[http]\nlisten = "127.0.0.1:0"\n[https]\nlisten = "127.0.0.1:${port}"\ncert = "${spec.https.cert}"\nkey = "${spec.https.key}"`;
    const toml = [
      listen,
      `[cluster]\nname = "test"\nsecret = "${spec.secret ?? CLUSTER_SECRET}"\nobserver = ${spec.observer === true}\n${spec.https === undefined ? '' : `ca = "${spec.https.ca}"\n`}${spec.clusterToml ?? ''}`,
      peers,
      spec.toml ?? '',
    ].join('\n');
    const node = await startAppliance({ name: spec.name, omitHttp: true, toml, ...(spec.dataDir === undefined ? {} : { dataDir: spec.dataDir }) });
    this.nodes.set(spec.name, node);
    return node;
  }

  /** restart starts a node again on its data directory, port and config. */
  restart(name: string): Promise<ApplianceProcess> {
    const spec = this.specs.get(name)!;
    return this.start({ ...spec, dataDir: this.nodes.get(name)!.dataDir });
  }

  node(name: string): ApplianceProcess {
    const n = this.nodes.get(name);
    if (n === undefined) throw new Error(`no node ${name}`);
    return n;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.nodes.values()].map((n) => n.kill9().catch(() => undefined)));
  }
}

/** until polls `check` every 10 ms until it returns a value other than undefined/false, or throws after timeoutMs. */
export async function until<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last === undefined ? '' : `: ${(last as Error).message}`}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
