/**
 * What every rule module of the pack shares: the wrappers that make a rule
 * mandatory, the type filter a resource rule starts with, and small readers
 * of raw properties. Rules read raw properties by type token (no @pulumi/aws
 * import) and call `args.notApplicable()` for other types, as the typed
 * helpers do.
 */
import { UnknownValueError } from "@pulumi/policy";
import type { PolicyResource, ResourceValidationArgs, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";

/** A value or a list of them, as a list. */
export const list = <V>(v: V | V[] | undefined): V[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);

/** Marks the rule not applicable unless the resource is of one of the types. */
export function only(args: ResourceValidationArgs, ...types: string[]): void {
  if (!types.includes(args.type)) args.notApplicable(`applies to ${types.join(", ")}`);
}

/** Every rule of the pack is mandatory: a violation fails the preview. */
export const resourcePolicy = (p: Omit<ResourceValidationPolicy, "enforcementLevel">): ResourceValidationPolicy => ({ enforcementLevel: "mandatory", ...p });
export const stackPolicy = (p: Omit<StackValidationPolicy, "enforcementLevel">): StackValidationPolicy => ({ enforcementLevel: "mandatory", ...p });

/** Resources of any of the types. */
export const ofType = (resources: PolicyResource[], ...types: string[]) => resources.filter((r) => types.includes(r.type));

/** A property, or undefined while a preview does not know it yet. */
export function known<V>(read: () => V): V | undefined {
  try {
    return read();
  } catch (e) {
    if (e instanceof UnknownValueError) return undefined;
    throw e;
  }
}
