/**
 * The command line of a small CLI (`npm run landing`, `npm run artifacts`, `npm run bench`), checked before it
 * does any work: util's parseArgs, strict and without positionals; `--help` (`-h`) prints the usage and exits 0;
 * a bad option is one line on stderr and exit 64 (EX_USAGE, as `npm start` and `npm run redrive` answer).
 */
import { parseArgs, ParseArgsConfig } from "util";

/** The exit status of a bad command line. */
export const USAGE_EXIT = 64;

type Options = NonNullable<ParseArgsConfig["options"]>;
const HELP = { help: { type: "boolean", short: "h" } } as const;

/** The parsed options, or the process ends: with the usage on `--help`, with one line and {@link USAGE_EXIT} on a bad option. */
export function cliOptions<O extends Options>(name: string, usage: string, options: O, argv: string[] = process.argv.slice(2)) {
  try {
    const { values } = parseArgs({ args: argv, options: { ...options, ...HELP }, strict: true, allowPositionals: false });
    if ((values as Record<string, unknown>).help) {
      console.log(usage);
      process.exit(0);
    }
    return values;
  } catch (err) {
    console.error(`${name}: ${parseArgsMessage(err)} (see --help)`);
    process.exit(USAGE_EXIT);
  }
}

/** parseArgs's error message on one line, without its hint on `--opt=-x` forms. */
export function parseArgsMessage(err: unknown): string {
  const lines = (err as Error).message.split("\n").filter((l) => !l.startsWith("To specify"));
  return lines.join(" ").replace(/\.$/, "");
}
