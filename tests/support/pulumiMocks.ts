/**
 * The stack tests' view of the program harness (local/deploy/program.ts):
 * index.ts for one stack under mocks that create nothing and answer
 * realistic state, every resource recorded (type, name, URN, parent type,
 * inputs, the state answered, aliases). No CLI, no AWS.
 */
import { ProgramResource, ProgramRun, runProgram as runUnderMocks } from "../../local/deploy/program";
import { AccountContext, mockResources } from "../../local/deploy/resourceState";
import { projectName } from "../../local/shared/project";

export type { ProgramRun };

/** One registered resource as the tests read it. */
export type RecordedResource = ProgramResource;

export interface RunOptions extends AccountContext {
  project?: string;
  stack: string;
  /** Project config without the project prefix; `aws:`-prefixed keys are passed as they are. */
  config: Record<string, string>;
  /** Outputs answered for StackReferences, by referenced stack name. */
  stackReferences?: Record<string, Record<string, unknown>>;
}

/** The project name, from Pulumi.yaml. */
export const PROJECT = projectName();

/** Runs index.ts under mocks for one stack and returns its outputs and resources. */
export function runProgram(options: RunOptions): Promise<ProgramRun> {
  return runUnderMocks({ ...options, handler: mockResources(options) });
}

/** Parses a policy document input (string or object) into an object. */
export function policyDocument(value: unknown): { Version: string; Statement: any[] } {
  return typeof value === "string" ? JSON.parse(value) : (value as any);
}
