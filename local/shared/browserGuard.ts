/**
 * The local cloud's services answer only the programs on this machine, never
 * a web page open in its browser: a page may send requests to 127.0.0.1 at
 * any port, and the emulators answer CORS with `*` and take any signature,
 * so a page that found a port could read or write every table, stream and
 * bucket, or invoke a function with a made-up JWT claim. A browser marks
 * every request a page sends across origins with `Origin` (and preflights
 * with it too) and, in current browsers, `Sec-Fetch-Site`; the SDK, Node's
 * fetch and curl send neither. Only the HTTP API serves browsers (CORS is
 * one of its settings).
 */
import type * as http from "http";

/** Whether a page in a browser sent the request. */
export function fromBrowser(headers: http.IncomingHttpHeaders): boolean {
  const site = headers["sec-fetch-site"];
  return headers.origin !== undefined || site === "cross-site" || site === "same-site";
}

/** The answer to a page's request. */
export function refuseBrowser(res: http.ServerResponse): void {
  res.writeHead(403, { "content-type": "text/plain" });
  res.end("the local cloud's emulators answer programs on this machine, not web pages (only the HTTP API serves browsers)");
}

/** Puts the guard before an http.Server's own request listeners (an emulator's server, started by its library). */
export function guardServer(server: http.Server): void {
  const listeners = server.listeners("request") as http.RequestListener[];
  server.removeAllListeners("request");
  server.on("request", (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (fromBrowser(req.headers)) refuseBrowser(res);
    else for (const l of listeners) l.call(server, req, res);
  });
}
