/**
 * What a stack run under the local provider leaves behind for the runtime:
 * every resource as declared (inputs) and as created (state), the stack's
 * outputs, and each function's artifact on disk. Written as JSON by
 * `runStack.ts` (one process per stack) and read by the orchestrator.
 */

/** The two stacks of the program. */
export type StackRole = "producer" | "consumer";

/** One resource the program registered. */
export interface ManifestResource {
  type: string;
  /** The physical id the provider answered (what other resources reference). */
  id: string;
  /** Logical name. */
  name: string;
  /** Type of the parent component, from the URN. */
  parentType?: string;
  /** Inputs as declared, secrets revealed. */
  inputs: Record<string, any>;
  /** State as the local provider answered it (real names and ARNs). */
  state: Record<string, any>;
}

/** A function, ready to run from its serialised archive. */
export interface ManifestFunction {
  /** Logical name. */
  name: string;
  /** Physical name and ARN, as the provider answered them. */
  functionName: string;
  arn: string;
  /** ARN of its execution role: the identity its calls carry. */
  roleArn: string;
  /** Directory holding `__index.js` (plays /var/task). */
  dir: string;
  /** Declared environment variables, resolved. */
  environment: Record<string, string>;
  /** Seconds. */
  timeout: number;
  memorySize: number;
  zipBytes: number;
  /** Declared `reservedConcurrentExecutions` (≥ 0); undefined when unreserved, as by default. */
  reservedConcurrency?: number;
}

/** Everything one stack run produced. */
export interface StackManifest {
  stack: StackRole;
  account: string;
  region: string;
  outputs: Record<string, any>;
  resources: ManifestResource[];
  functions: ManifestFunction[];
  /** Resource types declared but not emulated (recorded only), with counts. */
  notEmulated: Record<string, number>;
}

/** Where the emulators listen; every stack run and function gets these. */
export interface LocalEndpoints {
  kinesis: string;
  dynamodb: string;
  s3: string;
  sts: string;
}

/** The account ids the local cloud simulates (kinesis-local selects them by access key id). */
export const LOCAL_ACCOUNTS: Record<StackRole, string> = { producer: "111111111111", consumer: "222222222222" };
export const LOCAL_REGION = "us-east-1";
