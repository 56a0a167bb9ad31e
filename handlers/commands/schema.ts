/**
 * Command schemas: the domain declares one schema per command type, with any
 * library that implements Standard Schema v1 (standardschema.dev: Valibot,
 * Zod, ArkType…); the API, the producer library, `reduce` and `map` all parse
 * through these helpers, so each sees the same typed data. Only the schema's
 * own `~standard.validate` is called, never the library's module: the closure
 * serialiser then captures the schemas by value and the archives need no
 * node_modules. Lookups go through own properties only, so a client-chosen
 * type such as `constructor` is an unknown command, not a prototype method.
 */
import type { EventEnvelope } from "../shared/envelope";
import type { Mapper, Reducer, Validator } from "../shared/domain";
import { nonFiniteNumberPath, pathSegment } from "./strictJson";

/** One issue as Standard Schema reports it. */
export interface SchemaIssue {
  readonly message: string;
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>;
}

/** The Standard Schema v1 interface, the part of it used here. */
export interface StandardSchema<Output = unknown> {
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (
      value: unknown,
    ) => { readonly value: Output; readonly issues?: undefined } | { readonly issues: ReadonlyArray<SchemaIssue> } | Promise<unknown>;
    readonly types?: { readonly input: unknown; readonly output: Output };
  };
}

/** The domain's schemas: command type → schema of its `data`. */
export type CommandSchemas = { readonly [type: string]: StandardSchema };

/** The parsed data of one schema. */
export type OutputOf<S> = S extends StandardSchema<infer O> ? O : never;

/** A parsed command of `C`: `{ type, data }` narrowed by `type`. */
export type CommandOf<C extends CommandSchemas> = { [K in keyof C & string]: { type: K; data: OutputOf<C[K]> } }[keyof C & string];

/** An event whose data was parsed by `C`'s schema for its type. */
export type EventOf<C extends CommandSchemas> = { [K in keyof C & string]: Omit<EventEnvelope, "type" | "data"> & { type: K; data: OutputOf<C[K]> } }[keyof C &
  string];

/** A parsed command, or why its data is refused (the message names the field's path). */
export type ParsedCommand<C extends CommandSchemas> = { ok: true; command: CommandOf<C> } | { ok: false; message: string };

/** Whether `type` is one of the declared commands (own properties only). */
export function isCommandType<C extends CommandSchemas>(schemas: C, type: string): type is keyof C & string {
  return Object.prototype.hasOwnProperty.call(schemas, type);
}

function issuePath(issue: SchemaIssue): string {
  let out = "data";
  for (const p of issue.path ?? []) {
    const key = typeof p === "object" && p !== null ? p.key : p;
    out += pathSegment(typeof key === "number" ? key : String(key));
  }
  return out;
}

/** Parses `data` with the schema of `type`: the parsed command, or a message naming the type, the field and the rule. */
export function parseCommandData<C extends CommandSchemas>(schemas: C, type: string, data: unknown): ParsedCommand<C> {
  if (!isCommandType(schemas, type)) return { ok: false, message: `unknown command type ${type}; expected one of ${Object.keys(schemas).join(", ")}` };
  // Before the schema: a number schema need not know that JSON cannot carry Infinity or NaN.
  const nonFinite = nonFiniteNumberPath(data);
  if (nonFinite !== undefined) return { ok: false, message: `${type} ${nonFinite}: not a finite number (JSON numbers must fit a double)` };
  const result = schemas[type]["~standard"].validate(data) as { value?: unknown; issues?: ReadonlyArray<SchemaIssue> };
  if (result instanceof Promise) throw new Error(`the schema of ${type} is asynchronous; command schemas must validate synchronously`);
  if (result.issues) {
    const first = result.issues[0];
    const more = result.issues.length > 1 ? ` (and ${result.issues.length - 1} more)` : "";
    return { ok: false, message: `${type} ${issuePath(first)}: ${first.message}${more}` };
  }
  return { ok: true, command: { type, data: result.value } as CommandOf<C> };
}

/**
 * The API's `validate` from the schemas, plus optional rules across fields that see the parsed,
 * typed command (a message rejects it with 400).
 */
export function schemaValidator<C extends CommandSchemas>(schemas: C, rules?: (command: CommandOf<C>) => string | undefined): Validator {
  return (type, data) => {
    const parsed = parseCommandData(schemas, type, data);
    if (!parsed.ok) return parsed.message;
    return rules?.(parsed.command);
  };
}

/**
 * A `reduce` over parsed events: data a schema refuses (written by a producer that skipped validation)
 * throws, so the projector parks it with the message instead of folding it. A type without a schema
 * leaves the state as it is (forward compatible) and throws only when there is no state yet.
 */
export function typedReducer<C extends CommandSchemas, S>(schemas: C, fold: (state: S | undefined, event: EventOf<C>) => S | null): Reducer<S> {
  return (state, event) => {
    if (!isCommandType(schemas, event.type)) {
      if (state === undefined) throw new Error(`${event.type} is not a declared command type and there is no state to keep`);
      return state;
    }
    const parsed = parseCommandData(schemas, event.type, event.data);
    if (!parsed.ok) throw new Error(`event ${event.eventId} does not match its schema: ${parsed.message}`);
    return fold(state, { ...event, data: parsed.command.data } as EventOf<C>);
  };
}

/** A `map` over parsed events: data a schema refuses throws (the bridge parks it); a type without a schema forwards nothing. */
export function typedMapper<C extends CommandSchemas>(schemas: C, map: (event: EventOf<C>) => ReturnType<Mapper>): Mapper {
  return (event) => {
    if (!isCommandType(schemas, event.type)) return undefined;
    const parsed = parseCommandData(schemas, event.type, event.data);
    if (!parsed.ok) throw new Error(`event ${event.eventId} does not match its schema: ${parsed.message}`);
    return map({ ...event, data: parsed.command.data } as EventOf<C>);
  };
}
