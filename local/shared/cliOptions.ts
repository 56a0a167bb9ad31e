/**
 * The command line of every CLI here, checked before it does any work: a bad option or value is one line on
 * stderr, `<name>: <what is wrong> (see --help)`, and exit 64 (EX_USAGE), whichever CLI it is. They parse
 * with {@link cliOptions} (util's parseArgs, strict and without positionals, `--help` (`-h`) printing the
 * usage) and refuse a bad value with {@link usageError}; `npm start` and `npm run token` parse in a function
 * their tests call, and answer alike.
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
    return usageError(name, parseArgsMessage(err));
  }
}

/** A bad command line: one line on stderr and exit {@link USAGE_EXIT}, before any work. */
export function usageError(name: string, message: string): never {
  console.error(`${name}: ${message} (see --help)`);
  process.exit(USAGE_EXIT);
}

/** parseArgs's error message on one line, without its hint on `--opt=-x` forms. */
export function parseArgsMessage(err: unknown): string {
  const lines = (err as Error).message.split("\n").filter((l) => !l.startsWith("To specify"));
  return lines.join(" ").replace(/\.$/, "");
}
