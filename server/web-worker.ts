/*
 * The web manager's worker thread: Next.js (app/) on a private HTTP/1.1 server on
 * 127.0.0.1, reached only through the appliance's HTTP fronts (LoopbackProxy).
 * It publishes an Appliance accessor whose operations run on the appliance's
 * thread: each call is a message, each answer a message.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import next from 'next';
import { publishAppliance, type ApplianceOperations } from '../lib/appliance';
import type { WebWorkerData, WorkerMessage, WorkerReply } from './web';

const port = parentPort!;
const data = workerData as WebWorkerData;
const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
let seq = 0;

/** call runs one operation on the appliance's thread; aborting `signal` asks it to stop (the answer still comes). */
function call<K extends keyof ApplianceOperations>(
  method: K,
  args: Parameters<ApplianceOperations[K]>,
  signal?: AbortSignal,
): Promise<Awaited<ReturnType<ApplianceOperations[K]>>> {
  const id = ++seq;
  return new Promise((resolve, reject) => {
    const cancel = () => port.postMessage({ kind: 'cancel', id } satisfies WorkerMessage);
    signal?.addEventListener('abort', cancel, { once: true });
    const settle = () => signal?.removeEventListener('abort', cancel);
    pending.set(id, {
      resolve: (v) => {
        settle();
        resolve(v as Awaited<ReturnType<ApplianceOperations[K]>>);
      },
      reject: (e) => {
        settle();
        reject(e);
      },
    });
    port.postMessage({ kind: 'call', id, method, args } satisfies WorkerMessage);
    // A signal aborted before the call never fires 'abort'.
    if (signal?.aborted) cancel();
  });
}

publishAppliance({
  info: () => call('info', []),
  verifyAdmin: (user, password, client) => call('verifyAdmin', [user, password, client]),
  api: (request, operator, signal) => call('api', [request, operator], signal),
  shutdownProgress: (after, waitMs) => call('shutdownProgress', [after, waitMs]),
  sessionSecret: data.sessionSecret,
});

async function main(): Promise<void> {
  const app = next({ dev: data.dev, dir: data.dir, hostname: data.hostname, port: data.port, quiet: !data.dev });
  await app.prepare();
  const handle = app.getRequestHandler();
  const server = createServer({ keepAliveTimeout: 65_000 }, (req, res) => {
    handle(req, res).catch((err: Error) => {
      port.postMessage({ kind: 'log', level: 'error', msg: 'web manager request failed', fields: { url: req.url?.slice(0, 200), error: err.message } } satisfies WorkerMessage);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => resolve());
  });
  port.on('message', (m: WorkerReply) => {
    if (m.kind === 'stop') {
      server.closeAllConnections();
      server.close();
      void app.close().finally(() => port.close());
      return;
    }
    const p = pending.get(m.id);
    if (p === undefined) return;
    pending.delete(m.id);
    if (m.kind === 'result') p.resolve(m.value);
    else p.reject(new Error(m.message));
  });
  port.postMessage({ kind: 'ready', port: (server.address() as AddressInfo).port } satisfies WorkerMessage);
}

main().catch((err: Error) => {
  port.postMessage({ kind: 'failed', message: err.message } satisfies WorkerMessage);
});
