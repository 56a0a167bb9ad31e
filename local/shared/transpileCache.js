/**
 * ts-node's transpile-only compile, cached on disk: what `npm start` and each
 * of its stack runs load TypeScript with (`node -r ./local/shared/transpileCache.js`).
 * Loading the TypeScript compiler and transpiling the program's modules took
 * about 1.3 s of CPU in every one of those three processes, on every start;
 * with this, a module whose source has not changed is read back as ts-node
 * compiled it, and the compiler is loaded only on the first miss.
 *
 * Why not a faster transpiler (swc, esbuild): the output is exactly ts-node's
 * (its own compile, keyed by the source, the file, tsconfig.json and the
 * versions of ts-node and TypeScript), so the closures the program serialises
 * into the functions' archives are byte for byte what `pulumi up` (which
 * runs the program with ts-node) deploys. Source maps stay inline, as ts-node
 * emits them; Node's own support maps stack traces back to the .ts lines.
 *
 * Plain JS run by node directly, like functionWorker.js. Entries live in
 * `.local-cloud/ts-cache/`, written then renamed, so concurrent processes
 * never read half an entry; deleting the folder is always safe.
 */
"use strict";
const { createHash } = require("crypto");
const fs = require("fs");
const path = require("path");

const ROOT = path.resolve(__dirname, "..", "..");
const CACHE_DIR = path.join(ROOT, ".local-cloud", "ts-cache");
const version = (pkg) => require(`${pkg}/package.json`).version;
// What else decides ts-node's output: its version, the compiler's, and the project's compiler options.
const SALT = [version("ts-node"), version("typescript"), fs.readFileSync(path.join(ROOT, "tsconfig.json"), "utf8")].join("\0");

let service;
/** ts-node's transpile-only service, as `-r ts-node/register/transpile-only` makes it; created on the first miss. */
function compile(code, filename) {
  service ??= require("ts-node").create({ transpileOnly: true });
  return service.compile(code, filename);
}

function cached(code, filename) {
  const key = createHash("sha256").update(SALT).update("\0").update(filename).update("\0").update(code).digest("hex");
  const file = path.join(CACHE_DIR, `${key}.js`);
  try {
    return fs.readFileSync(file, "utf8");
  } catch {
    const js = compile(code, filename);
    try {
      fs.mkdirSync(CACHE_DIR, { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      fs.writeFileSync(tmp, js);
      fs.renameSync(tmp, file);
    } catch {
      // A cache that cannot be written only costs the next start its speed.
    }
    return js;
  }
}

process.setSourceMapsEnabled(true);
require.extensions[".ts"] = function (module, filename) {
  module._compile(cached(fs.readFileSync(filename, "utf8"), filename), filename);
};
