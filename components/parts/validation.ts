/**
 * The checks every component runs on its args before `super()` registers
 * anything, and the one call that merges a component's defaults (kept as
 * data, as AWS Solutions Constructs keep theirs) with its args. A bad arg
 * then fails `pulumi preview` with nothing half-built, instead of a green
 * deploy whose function breaks at cold start.
 *
 * Every message reads `<Component> <name>: <field> <what is wrong, the rule,
 * the value>`, e.g. `CommandApi commands: maxBodyBytes must be 1–921600, got 0`.
 */

/** IAM role names: 1–64 characters of letters, digits and `+=,.@_-`. */
export const ROLE_NAME_PATTERN = /^[\w+=,.@-]{1,64}$/;
/** An AWS account id: exactly 12 digits. */
export const ACCOUNT_ID_PATTERN = /^\d{12}$/;
/** STS accepts ExternalIds of 2–1224 characters from this set; anything else fails only at AssumeRole time. */
export const EXTERNAL_ID_PATTERN = /^[\w+=,.@:/-]{2,1224}$/;
/** {@link EXTERNAL_ID_PATTERN} in words, for messages. */
export const EXTERNAL_ID_RULE = "2-1224 characters of letters, digits and +=,.@:/-_ (as STS requires)";

/** Keys whose value is undefined, dropped: stack config passes unset keys through as undefined, and they must not hide a default. */
function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** The args over the defaults, in one call; an arg set to undefined keeps its default. */
export function withDefaults<D extends object, A extends object>(defaults: D, args: A | undefined): Omit<A, keyof D> & D {
  return { ...defaults, ...definedOnly(args ?? ({} as A)) } as Omit<A, keyof D> & D;
}

/** Checks the args of one component instance; every failure names the component, the instance and the field. */
export class ArgCheck {
  constructor(
    readonly component: string,
    readonly name: string,
  ) {}

  /** Throws `<Component> <name>: <message>`. */
  fail(message: string): never {
    throw new Error(`${this.component} ${this.name}: ${message}`);
  }

  /** Fails with `message` unless `ok`. */
  that(ok: boolean, message: string): void {
    if (!ok) this.fail(message);
  }

  /** An integer from `min` to `max` (`unit` is appended to the rule, e.g. " h"). */
  integer(field: string, value: number, min: number, max: number, unit = ""): number {
    if (Number.isInteger(value) && value >= min && value <= max) return value;
    const rule = Number.isInteger(value) ? `${min}–${max}${unit}` : `an integer ${min}–${max}${unit}`;
    return this.fail(`${field} must be ${rule}, got ${value}`);
  }

  /** A number (not necessarily whole) above 0 and at most `max`. */
  positive(field: string, value: number, max: number, unit = ""): number {
    if (typeof value === "number" && value > 0 && value <= max) return value;
    return this.fail(`${field} must be above 0 and at most ${max}${unit}, got ${value}`);
  }

  /** true or false, `fallback` when unset. */
  flag(field: string, value: boolean | undefined, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value === "boolean") return value;
    return this.fail(`${field} must be true or false, got ${JSON.stringify(value)}`);
  }

  /** One of `allowed`. */
  oneOf<T extends string>(field: string, value: T, allowed: readonly T[]): T {
    if (allowed.includes(value)) return value;
    return this.fail(`${field} must be one of ${allowed.join(", ")}, got ${JSON.stringify(value)}`);
  }

  /** A value that must be set (`why`: the rule that requires it). */
  present<T>(field: string, value: T | undefined, why: string): T {
    if (value !== undefined) return value;
    return this.fail(`${field} is required ${why}`);
  }

  /** A string matching `pattern` (`rule` says it in words). Outputs are not known yet and pass. */
  matches(field: string, value: unknown, pattern: RegExp, rule: string): void {
    if (typeof value === "string" && !pattern.test(value)) this.fail(`${field} must be ${rule}, got ${JSON.stringify(value)}`);
  }

  /** An ExternalId, when known (a secret Output is checked where it is read, in stacks/config.ts). */
  externalId(field: string, value: unknown): void {
    this.matches(field, value, EXTERNAL_ID_PATTERN, EXTERNAL_ID_RULE);
  }

  /** An IAM role name. */
  roleName(field: string, value: string): string {
    if (typeof value === "string" && ROLE_NAME_PATTERN.test(value)) return value;
    return this.fail(`${field} must be an IAM role name (1–64 characters of letters, digits and +=,.@_-), got ${JSON.stringify(value)}`);
  }
}
