/**
 * The one HTTP server every local service runs on (the local STS, the IAM
 * enforcer's proxies, the HTTP API, the STS stub): it listens on 127.0.0.1
 * (a free port unless one is asked for), reads each request's body up to a
 * bound, hands it to the service, and stops without waiting for keep-alive
 * connections, which the SDK clients of functions and tests hold open; it
 * refuses requests a web page sent unless told otherwise (browserGuard.ts). Also
 * the one way they read a header.
 */
import * as http from "http";
import * as net from "net";
import { fromBrowser, refuseBrowser } from "./browserGuard";

/** Options of {@link startLoopbackServer}. */
export interface LoopbackServerOptions {
  /** Default 0: a free port. */
  port?: number;
  /** The largest body read; a larger one is drained and answered by `onTooLarge`. */
  maxBodyBytes: number;
  /** Answers a request whose body exceeded `maxBodyBytes`; default 413 in plain text. */
  onTooLarge?: (req: http.IncomingMessage, res: http.ServerResponse) => void;
  /** Serve requests a web page sent (browserGuard.ts); default false: 403. Only the HTTP API serves browsers. */
  browsers?: boolean;
  /** Answers one request with its whole body. A throw or rejection is answered 500 unless headers went out. */
  handle: (req: http.IncomingMessage, body: Buffer, res: http.ServerResponse) => void | Promise<void>;
}

/** What every local service's handle has: one way to stop it. */
export interface LocalService {
  /** Closes the service and its open (keep-alive) connections; resolves when it is closed. */
  stop(): Promise<void>;
}

/** A running loopback server. */
export interface LoopbackServer extends LocalService {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  endpoint: string;
  port: number;
}

const HOST = "127.0.0.1";

/** A request header's (first) value; names lower-cased, as Node gives them. */
export function header(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function answerPlain(res: http.ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { "content-type": "text/plain" });
  res.end(text);
}

/** Starts a server on 127.0.0.1; resolves once it listens. */
export async function startLoopbackServer(options: LoopbackServerOptions): Promise<LoopbackServer> {
  const { maxBodyBytes } = options;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes < 0) throw new Error(`startLoopbackServer: maxBodyBytes must be a whole number ≥ 0, got ${maxBodyBytes}`);
  const server = http.createServer((req, res) => {
    if (!options.browsers && fromBrowser(req.headers)) {
      req.resume();
      refuseBrowser(res);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (d: Buffer) => {
      size += d.length;
      // Drain past the bound (so the client sees the answer, not a reset) but keep nothing.
      if (size <= maxBodyBytes) chunks.push(d);
    });
    req.on("end", () => {
      const answer = () =>
        size > maxBodyBytes
          ? (options.onTooLarge ?? ((_, r) => answerPlain(r, 413, `request body over ${maxBodyBytes} bytes`)))(req, res)
          : options.handle(req, Buffer.concat(chunks), res);
      Promise.resolve()
        .then(answer)
        .catch((err: unknown) => answerPlain(res, 500, `local service failed: ${(err as Error)?.message ?? String(err)}`));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, HOST, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as net.AddressInfo).port;
  return {
    endpoint: `http://${HOST}:${port}`,
    port,
    stop: () =>
      new Promise<void>((resolve) => {
        // Resolves also when the server was already stopped (close then reports ERR_SERVER_NOT_RUNNING).
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
