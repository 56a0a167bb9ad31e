/**
 * One function's container, forked by local/functionHost.ts with the
 * function's environment and cwd = its artifact dir (plays /var/task).
 * Loads `__index.js` as the nodejs runtime does, then answers IPC messages
 * `{id, event}` with `{id, result}` or `{id, error: {name, message, stack}}`.
 * Plain JS run by node directly: no ts-node, only built-in modules.
 *
 * argv[2]: JSON `{functionName, functionArn, memorySize, timeoutMs}` (for the context object).
 */
"use strict";
const path = require("path");
const Module = require("module");

const taskRoot = process.cwd();
const config = JSON.parse(process.argv[2] || "{}");

// Resolution from the task root sees its own node_modules, then NODE_PATH (the
// runtime's @aws-sdk), never a node_modules above it: an artifact written under
// the project must not find the project's packages.
const originalPaths = Module._nodeModulePaths;
Module._nodeModulePaths = (from) => {
  const rel = path.relative(taskRoot, from);
  if (rel.startsWith("..") || path.isAbsolute(rel)) return originalPaths(from);
  const out = [];
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (path.basename(dir) !== "node_modules") out.push(path.join(dir, "node_modules"));
    if (dir === taskRoot) break;
  }
  return out;
};

function serialiseError(err) {
  if (err instanceof Error) return { name: err.name, message: err.message, stack: err.stack };
  return { name: "Error", message: typeof err === "string" ? err : JSON.stringify(err) };
}

function send(msg) {
  if (process.connected) process.send(msg);
}

// As on Lambda, an error outside any invocation's promise ends the container.
process.on("uncaughtException", (err) => {
  process.stderr.write(`uncaught exception: ${(err && err.stack) || err}\n`);
  process.exit(129);
});
process.on("unhandledRejection", (err) => {
  process.stderr.write(`unhandled rejection: ${(err && err.stack) || err}\n`);
  process.exit(128);
});
// The host went away: nothing left to answer.
process.on("disconnect", () => process.exit(0));

let handler;
const started = process.hrtime.bigint();
try {
  handler = require(path.join(taskRoot, "__index.js")).handler;
  if (typeof handler !== "function") throw new Error("__index.js does not export a function named handler");
} catch (err) {
  send({ type: "initError", error: serialiseError(err) });
  process.exitCode = 1;
  process.disconnect();
  return;
}
send({ type: "ready", coldStartMs: Number(process.hrtime.bigint() - started) / 1e6 });

function invocationContext(id, deadline) {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: config.functionName,
    functionVersion: "$LATEST",
    invokedFunctionArn: config.functionArn,
    memoryLimitInMB: String(config.memorySize),
    awsRequestId: id,
    logGroupName: `/aws/lambda/${config.functionName}`,
    logStreamName: "local",
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

/** Calls the handler in either style the runtime accepts: async, or (event, context, callback). */
function call(event, ctx) {
  if (handler.length >= 3) {
    return new Promise((resolve, reject) => {
      const maybe = handler(event, ctx, (err, result) => (err ? reject(err) : resolve(result)));
      if (maybe && typeof maybe.then === "function") maybe.then(resolve, reject);
    });
  }
  return Promise.resolve().then(() => handler(event, ctx));
}

process.on("message", (msg) => {
  if (!msg || typeof msg.id !== "string") return;
  const deadline = Date.now() + (config.timeoutMs || 3000);
  call(msg.event, invocationContext(msg.id, deadline)).then(
    // Lambda returns the JSON of the result; undefined becomes null.
    (result) => send({ id: msg.id, result: result === undefined ? null : result }),
    (err) => send({ id: msg.id, error: serialiseError(err) }),
  );
});
