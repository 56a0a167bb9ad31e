/**
 * kinesis-local (kinesis-mock) run inside this process, which emulators.ts
 * starts in a session of its own: out of the terminal's signal path, so a
 * Ctrl-C to the local cloud's process group never reaches it. Its lifeline is
 * its stdin, a pipe from the process that started it: when that pipe ends —
 * the parent closed it to stop, or the parent died, however it died — this
 * process flushes and exits. No emulator outlives the local cloud, and an
 * acknowledged PutRecord is on disk first.
 *
 * Why the data file needs help: kinesis-mock saves its whole state every
 * PERSIST_INTERVAL by writing the file in place, so a process killed mid-save
 * leaves half a file. Here its write stream for that file goes to a temporary
 * file, renamed over the data file once complete: the data file is always a
 * whole save. At the end it waits for two more complete saves (the first may
 * hold a snapshot taken just before the pipe ended; the second started after
 * the first finished, so after the last acknowledged write), then exits.
 *
 * It listens on the loopback interface only (kinesis-mock itself binds every interface).
 *
 * Plain JS run by node directly, like functionWorker.js.
 * argv[2]: kinesis-local's main.js. env: KINESIS_MOCK_* and PERSIST_* as
 * kinesis-local reads them; KINESIS_SUPERVISOR_DATA_FILE (absolute, when it
 * persists); KINESIS_SUPERVISOR_FLUSH_TIMEOUT_MS (default 30,000).
 */
"use strict";
const fs = require("fs");
const path = require("path");

// Taken before kinesis-local loads: its runtime (cats-effect) replaces process.exit with a graceful
// shutdown that waits ~30 s for idle keep-alive connections.
const exit = process.exit.bind(process);
const dataFile = process.env.KINESIS_SUPERVISOR_DATA_FILE ? path.resolve(process.env.KINESIS_SUPERVISOR_DATA_FILE) : undefined;
const flushTimeoutMs = Number(process.env.KINESIS_SUPERVISOR_FLUSH_TIMEOUT_MS || 30_000);

// The parent may be gone when this writes: a broken pipe must not end the flush.
process.stderr.on("error", () => undefined);
const log = (msg) => {
  try {
    process.stderr.write(`kinesis-local supervisor: ${msg}\n`);
  } catch {
    // nobody to tell
  }
};

// Who holds the data dir: a new supervisor on it waits until this one has made its last save and exited.
const pidFile = dataFile ? path.join(path.dirname(dataFile), "supervisor.pid") : undefined;
if (pidFile) fs.writeFileSync(pidFile, String(process.pid));
const exitReleasing = (code) => {
  try {
    if (pidFile && fs.readFileSync(pidFile, "utf8").trim() === String(process.pid)) fs.rmSync(pidFile, { force: true });
  } catch {
    // already gone
  }
  exit(code);
};

let completeSaves = 0;
let onSave = () => undefined;

if (dataFile) {
  // A save killed midway left its temporary file; the data file itself is whole.
  for (const f of fs.readdirSync(path.dirname(dataFile), { withFileTypes: true }))
    if (f.isFile() && f.name.startsWith(`${path.basename(dataFile)}.`) && f.name.endsWith(".tmp")) fs.rmSync(path.join(path.dirname(dataFile), f.name));
  const createWriteStream = fs.createWriteStream;
  // kinesis-mock reads fs.createWriteStream at each call, so this replaces it for its saves only.
  fs.createWriteStream = function (file, options) {
    if (typeof file !== "string" || path.resolve(file) !== dataFile) return createWriteStream.apply(this, arguments);
    const temporary = `${dataFile}.${process.pid}.${completeSaves}.tmp`;
    const stream = createWriteStream.call(this, temporary, options);
    let finished = false;
    // Seen through emit, not listeners: kinesis-mock removes every listener of the stream once it is open.
    const emit = stream.emit;
    stream.emit = function (event, ...args) {
      if (event === "finish") finished = true;
      if (event === "close") saved(temporary, finished);
      return emit.call(this, event, ...args);
    };
    return stream;
  };
}

/** A save's stream closed: a complete one replaces the data file in one rename; a broken one is dropped. */
function saved(temporary, complete) {
  if (!complete) return fs.rmSync(temporary, { force: true });
  try {
    fs.renameSync(temporary, dataFile);
    completeSaves += 1;
    onSave();
  } catch (err) {
    log(`could not rename ${temporary} to ${dataFile}: ${err.message}`);
  }
}

let finishing = false;
function finish(why) {
  if (finishing) return;
  finishing = true;
  if (!dataFile) exitReleasing(0);
  const target = completeSaves + 2;
  const timer = setTimeout(() => {
    log(`${why}, but kinesis-local completed no save within ${flushTimeoutMs} ms; ${dataFile} holds its last complete save`);
    exitReleasing(1);
  }, flushTimeoutMs);
  onSave = () => {
    if (completeSaves < target) return;
    clearTimeout(timer);
    exitReleasing(0);
  };
}

// kinesis-mock has no host setting and listens on every interface, unauthenticated: anyone on the network could
// read both accounts' streams and append forged events past the API. Every TCP listener it opens is held to the
// loopback interface, which is where the local cloud and the tests reach it (http://127.0.0.1:<port>).
const net = require("net");
const listen = net.Server.prototype.listen;
net.Server.prototype.listen = function loopbackOnly(...args) {
  const first = args[0];
  if (typeof first === "number" || (typeof first === "string" && /^\d+$/.test(first))) {
    if (typeof args[1] === "string") args[1] = "127.0.0.1";
    else args.splice(1, 0, "127.0.0.1");
  } else if (first !== null && typeof first === "object" && first.port !== undefined && first.path === undefined) {
    args[0] = { ...first, host: "127.0.0.1" };
  }
  return listen.apply(this, args);
};

// Nor does it answer a web page: kinesis-mock's CORS is `*` (local/shared/browserGuard.ts says why that matters). It
// parses HTTP itself over net sockets, so the guard reads what arrives on each accepted socket: a request a browser
// sent on a page's behalf carries an Origin header (or Sec-Fetch-Site cross-site or same-site), which no SDK sends
// and no JSON or base64 body holds after a line break. Such a connection is answered 403 and closed unread.
const BROWSER = /\r\n(origin:|sec-fetch-site:[ \t]*(cross|same)-site)/i;
const REFUSED = "the local cloud's emulators answer programs on this machine, not web pages (only the HTTP API serves browsers)";
const push = net.Socket.prototype.push;
net.Socket.prototype.push = function guardedPush(chunk, encoding) {
  if (this.server && chunk && !this.refusedBrowser && BROWSER.test(Buffer.isBuffer(chunk) ? chunk.toString("latin1") : String(chunk))) {
    this.refusedBrowser = true;
    this.end(`HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: ${REFUSED.length}\r\nconnection: close\r\n\r\n${REFUSED}`);
    return false;
  }
  if (this.refusedBrowser) return false;
  return push.call(this, chunk, encoding);
};

// Nothing is ever sent on the pipe: only its end matters.
process.stdin.on("data", () => undefined);
process.stdin.once("end", () => finish("the local cloud closed the lifeline"));
process.stdin.once("close", () => finish("the lifeline closed"));
process.stdin.once("error", () => finish("the lifeline broke"));

require(process.argv[2]);
