/**
 * What the mock monitor is asked to register, as `pulumi up` would see it:
 * each resource's URN (the monitor's own answer), the URNs its `aliases`
 * name, the inputs it ignores changes to and whether it is protected. Mocks
 * are not given the parent or these options of a resource, so the harness
 * (program.ts) reads them here, from the requests themselves.
 */
import * as pulumi from "@pulumi/pulumi";

/** One registration (or read) of a resource. */
export interface Registration {
  type: string;
  name: string;
  /** The monitor's answer; "" until it answers, or if it failed. */
  urn: string;
  /** URNs named by the resource's `aliases`. */
  aliases: string[];
  /** The resource's `ignoreChanges`: inputs whose change `pulumi up` keeps from the old state. */
  ignoreChanges: string[];
  /** The resource's `protect`: `pulumi destroy`, or an update that would delete or replace it, fails. */
  protect: boolean;
}

/** The monitor's requests, as far as they are read here (protobuf getters). */
interface MonitorRequest {
  getType(): string;
  getName(): string;
  getParent(): string;
  getAliasesList?(): { getUrn?(): string; getSpec?(): AliasSpec | undefined }[];
  getAliasurnsList?(): string[];
  getIgnorechangesList?(): string[];
  getProtect?(): boolean;
}

interface AliasSpec {
  getName(): string;
  getType(): string;
  getStack(): string;
  getProject(): string;
  getParenturn(): string;
  getNoparent(): boolean;
}

type Callback = (err: unknown, response?: { getUrn(): string }) => void;

/** The type tokens of a URN's chain: its ancestors' types, then its own. */
function typeChain(urn: string): string[] {
  return urn ? urn.split("::")[2].split("$") : [];
}

/** The parent's type from a URN, or undefined for the stack's direct children (and for no URN). */
export function parentTypeOf(urn: string): string | undefined {
  const chain = typeChain(urn);
  return chain.length > 1 ? chain[chain.length - 2] : undefined;
}

/**
 * The URNs a request's aliases name, computed as the mock monitor computes
 * URNs (the parent's type, then the type and name); an alias spec's unset
 * fields default to the resource's own.
 */
function aliasUrns(req: MonitorRequest, project: string, stack: string): string[] {
  const out: string[] = [];
  for (const alias of req.getAliasesList?.() ?? []) {
    if (alias.getUrn?.()) {
      out.push(alias.getUrn());
      continue;
    }
    const spec = alias.getSpec?.();
    if (!spec) continue;
    const parentUrn = spec.getNoparent() ? "" : spec.getParenturn() || req.getParent();
    const type = spec.getType() || req.getType();
    const qualified = parentUrn ? `${typeChain(parentUrn).pop()}$${type}` : type;
    out.push(`urn:pulumi:${spec.getStack() || stack}::${spec.getProject() || project}::${qualified}::${spec.getName() || req.getName()}`);
  }
  out.push(...(req.getAliasurnsList?.() ?? []));
  return out;
}

/**
 * Wraps the installed mock monitor's `registerResource` and `readResource`
 * (call after `setMocks`) and returns the list they fill, in request order.
 */
export function captureRegistrations(project: string, stack: string): Registration[] {
  const monitor = pulumi.runtime.getMonitor() as unknown as Record<string, (req: MonitorRequest, callback: Callback) => unknown>;
  const out: Registration[] = [];
  for (const method of ["registerResource", "readResource"]) {
    const original = monitor[method].bind(monitor);
    monitor[method] = (req, callback) => {
      const registration: Registration = {
        type: req.getType(),
        name: req.getName(),
        urn: "",
        aliases: aliasUrns(req, project, stack),
        ignoreChanges: req.getIgnorechangesList?.() ?? [],
        protect: req.getProtect?.() ?? false,
      };
      out.push(registration);
      return original(req, (err, response) => {
        if (response) registration.urn = response.getUrn();
        callback(err, response);
      });
    };
  }
  return out;
}
