import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { ApplianceOperations } from '../lib/appliance';
import { LoopbackProxy } from './http/loopback-proxy';
import type { Log } from './log';

/** What the worker is started with. */
export interface WebWorkerData {
  readonly dir: string;
  readonly dev: boolean;
  readonly hostname: string;
  readonly port: number;
  readonly sessionSecret: string;
}

/** Messages from the worker. */
export type WorkerMessage =
  | { kind: 'ready'; port: number }
  | { kind: 'failed'; message: string }
  | { kind: 'call'; id: number; method: keyof ApplianceOperations; args: unknown[] }
  | { kind: 'cancel'; id: number }
  | { kind: 'log'; level: 'warn' | 'error'; msg: string; fields: Record<string, unknown> };

/** Messages to the worker. */
export type WorkerReply = { kind: 'result'; id: number; value: unknown } | { kind: 'error'; id: number; message: string } | { kind: 'stop' };

/** How long the worker may take to stop before it is terminated. */
const STOP_TIMEOUT_MS = 5000;

/**
 * WebManager runs the Next.js application (app/) in a worker thread, so that
 * Next's patches of process globals (Date, setImmediate, crypto) and its
 * AsyncLocalStorage hooks stay out of the DNS and API hot paths of the
 * appliance's thread (measured: ~19% of UDP throughput). The worker serves HTTP/1.1
 * on 127.0.0.1; `handle` forwards every request the API does not own to it, from
 * HTTP/1.1 and HTTP/2 listeners alike. The worker's Appliance accessor calls
 * `operations` here, by message.
 */
export class WebManager {
  private worker: Worker | undefined;
  private proxy: LoopbackProxy | undefined;
  private failed: string | undefined;
  /** Calls under way that may be cancelled (blocking API queries whose page went away). */
  private readonly calls = new Map<number, AbortController>();

  constructor(
    private readonly opts: { dir: string; dev: boolean; hostname: string; port: number; sessionSecret: string; log: Log },
    private readonly operations: ApplianceOperations,
  ) {}

  /** running is false before start(), after stop() and when the worker died. */
  get running(): boolean {
    return this.proxy !== undefined && this.failed === undefined;
  }

  /** start runs the worker and waits until Next has loaded the production build (it fails when no build exists). */
  async start(): Promise<void> {
    const { dir, dev, hostname, port, sessionSecret, log } = this.opts;
    const workerData = { dir, dev, hostname, port, sessionSecret } satisfies WebWorkerData;
    // Compiled: dist/server/web-worker.js. From source (npm run dev, under tsx) the worker registers tsx's hooks first.
    const worker = __filename.endsWith('.ts')
      ? new Worker(`require('tsx/cjs'); require(${JSON.stringify(join(__dirname, 'web-worker.ts'))});`, { eval: true, workerData })
      : new Worker(join(__dirname, 'web-worker.js'), { workerData });
    this.worker = worker;
    const ready = new Promise<number>((resolve, reject) => {
      worker.on('message', (m: WorkerMessage) => {
        if (m.kind === 'ready') resolve(m.port);
        else if (m.kind === 'failed') reject(new Error(m.message));
        else if (m.kind === 'call') void this.answer(worker, m);
        else if (m.kind === 'cancel') this.calls.get(m.id)?.abort();
        else log[m.level](m.msg, m.fields);
      });
      worker.once('error', (err) => {
        this.failed = err.message;
        log.error('web manager worker failed', { error: err });
        reject(err);
      });
      worker.once('exit', (code) => {
        if (this.worker === worker && code !== 0) this.failed ??= `exited with ${code}`;
        reject(new Error(`the web manager's worker exited with ${code} before it was ready`));
      });
    });
    const workerPort = await ready;
    this.proxy = new LoopbackProxy(workerPort, log);
  }

  private async answer(worker: Worker, m: Extract<WorkerMessage, { kind: 'call' }>): Promise<void> {
    let reply: WorkerReply;
    const cancel = new AbortController();
    this.calls.set(m.id, cancel);
    try {
      const fn = this.operations[m.method] as ((...args: unknown[]) => unknown) | undefined;
      if (typeof fn !== 'function' || !Object.hasOwn(this.operations, m.method)) throw new Error(`no operation ${String(m.method)}`);
      // api takes the cancellation signal as its third argument; nothing else is cancellable.
      const args = m.method === 'api' ? [m.args[0], m.args[1], cancel.signal] : m.args;
      reply = { kind: 'result', id: m.id, value: await fn(...args) };
    } catch (err) {
      reply = { kind: 'error', id: m.id, message: (err as Error).message };
    } finally {
      this.calls.delete(m.id);
    }
    worker.postMessage(reply);
  }

  /** handle forwards one request to the web manager; 503 before it is running. */
  handle = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse, secure: boolean): void => {
    if (this.proxy === undefined || this.failed !== undefined) {
      (res as ServerResponse).writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' });
      res.end(this.failed === undefined ? 'the web manager is starting\n' : 'the web manager is not running\n');
      return;
    }
    this.proxy.forward(req, res, secure);
  };

  /** stop asks the worker to close Next and waits for it (terminating it after STOP_TIMEOUT_MS). */
  async stop(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    this.proxy?.close();
    this.proxy = undefined;
    if (worker === undefined) return;
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.postMessage({ kind: 'stop' } satisfies WorkerReply);
    const timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
  }
}
