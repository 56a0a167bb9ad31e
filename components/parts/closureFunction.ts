/**
 * A Lambda function serialised from a closure, with its own log group and a
 * role that holds exactly the statements passed in (plus writing its logs).
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { policyJson, roleWithPolicy, Statement } from "./iam";
import { excludedPackages, FunctionSettings, LAMBDA_ARCHITECTURE, LAMBDA_RUNTIME } from "./lambdaDefaults";

/** Args of {@link closureFunction}. */
export interface ClosureFunctionArgs<E, R> {
  /** Runs once per container; returns the handler. Build SDK clients here. */
  callbackFactory: () => (event: E) => Promise<R>;
  /** What the function may do, besides writing its own logs. */
  statements: Statement[];
  /** Environment variables: the handler's whole configuration. */
  environment: Record<string, pulumi.Input<string>>;
  description?: string;
  /** Memory, timeout and log retention, resolved by the component (see FUNCTION_DEFAULTS). */
  sizing: FunctionSettings;
  /** Fixed role name, when another account's trust policy must name the role. */
  roleName?: string;
}

/** The function and what was created for it. */
export interface ClosureFunction<E, R> {
  fn: aws.lambda.CallbackFunction<E, R>;
  role: aws.iam.Role;
  logGroup: aws.cloudwatch.LogGroup;
}

/** Creates the log group, the least-privilege role and the function. */
export function closureFunction<E, R>(name: string, args: ClosureFunctionArgs<E, R>, opts: pulumi.ComponentResourceOptions): ClosureFunction<E, R> {
  const logGroup = new aws.cloudwatch.LogGroup(
    `${name}-logs`,
    {
      retentionInDays: args.sizing.logRetentionDays,
    },
    opts,
  );
  const role = roleWithPolicy(
    `${name}-role`,
    {
      name: args.roleName,
      description: `Execution role of ${name}`,
      assumeRolePolicy: policyJson([{ Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }]),
      statements: [
        ...args.statements,
        { Sid: "WriteOwnLogs", Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: pulumi.interpolate`${logGroup.arn}:*` },
      ],
    },
    opts,
  );
  const fn = new aws.lambda.CallbackFunction<E, R>(
    name,
    {
      description: args.description,
      callbackFactory: args.callbackFactory,
      role,
      runtime: LAMBDA_RUNTIME,
      architectures: [LAMBDA_ARCHITECTURE],
      memorySize: args.sizing.memorySize,
      timeout: args.sizing.timeout,
      environment: { variables: args.environment },
      loggingConfig: { logFormat: "JSON", logGroup: logGroup.name, applicationLogLevel: "INFO", systemLogLevel: "WARN" },
      codePathOptions: { extraExcludePackages: excludedPackages() },
    },
    opts,
  );
  return { fn, role, logGroup };
}
