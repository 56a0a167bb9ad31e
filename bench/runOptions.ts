/**
 * `npm run bench`'s command line, checked when this module loads: bench/run.ts imports it before anything else,
 * so `--help` and a bad option are answered without loading the emulators and the handlers first.
 */
import { cliOptions } from "../local/shared/cliOptions";

const USAGE = `usage: npm run bench -- [--quick]
  --quick   smaller workloads and fewer rounds: about a minute instead of three
  --help    this text`;

/** `--quick`: smaller workloads and fewer rounds. */
export const quick = cliOptions("npm run bench", USAGE, { quick: { type: "boolean" } }).quick === true;
