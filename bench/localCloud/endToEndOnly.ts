/**
 * The end-to-end part of `npm run bench` alone (bench/localCloud/e2e.ts): a fresh local
 * cloud, the raw emulator's PutRecord rate and the demo's traffic in the same
 * run, so the accepted rate reads as a ratio of what the emulator itself does.
 *
 *   node -r ./local/shared/transpileCache.js bench/localCloud/endToEndOnly.ts [--quick]
 */
import { endToEnd } from "./e2e";

endToEnd(process.argv.includes("--quick")).then(
  (rows) => {
    for (const r of rows)
      console.log(
        `${r.metric.padEnd(40)} ${String(r.value ?? "").padStart(8)}  raw ${String(r.rawEmulatorValue ?? "").padStart(8)}  ratio ${r.ratio ?? ""}  ${r.note}`,
      );
    process.exit(0);
  },
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
