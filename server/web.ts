import next from 'next';
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * WebManager is the Next.js application (app/) served by our own HTTP server.
 * Next installs no signal handlers in this mode; ours stay in charge.
 */
export class WebManager {
  private readonly app: ReturnType<typeof next>;
  private handler: ((req: IncomingMessage, res: ServerResponse) => Promise<void>) | undefined;

  constructor(opts: { dir: string; dev: boolean; hostname: string; port: number }) {
    this.app = next({ dev: opts.dev, dir: opts.dir, hostname: opts.hostname, port: opts.port, quiet: !opts.dev });
  }

  /** start loads the production build (or starts the dev compiler); it fails when no build exists. */
  async start(): Promise<void> {
    await this.app.prepare();
    const handle = this.app.getRequestHandler();
    this.handler = (req, res) => handle(req, res);
  }

  /** handle serves one request; before start() it answers 503. */
  handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (this.handler === undefined) {
      res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '1' });
      res.end('the web manager is starting\n');
      return;
    }
    await this.handler(req, res);
  };

  async stop(): Promise<void> {
    await this.app.close();
  }
}
