/**
 * CommandApi: an API Gateway HTTP API whose one Lambda appends commands to
 * the event stream (202 + event id) and answers reads from the read model.
 *
 * awsx is not used here: its API Gateway component builds a REST API (v1),
 * which costs about 3.5× an HTTP API per request and has no payload v2.0.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { API_ROUTES, apiConfigFromEnv, createApi, DEFAULT_MAX_BODY_BYTES, HttpApiEvent, HttpApiResult, PREFLIGHT_ROUTE } from "../handlers/api";
import { MAX_BODY_BYTES_LIMIT } from "../handlers/api/validation";
import { API_TIME, apiTimeBudget } from "../handlers/api/timeBudget";
import { dynamoClient, kinesisClient } from "../handlers/shared/clients";
import { ENV } from "../handlers/shared/env";
import type { AccessRule, Validator } from "../handlers/shared/domain";
import { METRIC } from "../handlers/observability/metrics";
import { AlarmSpec, createAlarms, functionSums, lambdaMetric } from "./parts/alarms";
import { AuthSettings, CommandApiAuth, CommandApiCors, jwtAuthorizer, resolveAuth, routeArns, routeAuthArgs } from "./commandApi/auth";
import { closureFunction } from "./parts/closureFunction";
import { viaKinesis } from "./parts/iam";
import type { Monitoring } from "./parts/dashboard";
import { FunctionSettings, resolveFunction } from "./parts/lambdaDefaults";
import { COMPONENT_TYPES } from "./parts/typeTokens";
import { ArgCheck, withDefaults } from "./parts/validation";
import { ACCESS_LOG_FORMAT } from "./commandApi/accessLog";

export type { CommandApiAuth, CommandApiCors } from "./commandApi/auth";

/** Args of {@link CommandApi}. */
export interface CommandApiArgs<S = unknown> {
  /** Name and ARN of the event stream writes go to, and its customer-managed key if it has one (EventSourcedTable.streamKeyArn). Required. */
  stream: { name: pulumi.Input<string>; arn: pulumi.Input<string>; keyArn?: pulumi.Input<string> };
  /** Name and ARN of the read-model table reads come from. Required. */
  table: { name: pulumi.Input<string>; arn: pulumi.Input<string> };
  /** Largest accepted body, 1–921600 bytes (the envelope must fit Kinesis's 1 MiB). Default 65536 (the handler's): far above a command, far below a record. */
  maxBodyBytes?: number;
  /** Domain validation of a command, serialised into the function; a message rejects it with 400. Default none: every well-formed command is accepted. */
  validate?: Validator;
  /** Who may call: `{ mode: "iam" }` (the default), `{ mode: "jwt", issuer, audiences }` or `{ mode: "none" }` (warned at deploy, reported by the policy pack). See CommandApiAuth. */
  auth?: CommandApiAuth;
  /** CORS for browser clients. Default off. See CommandApiCors. */
  cors?: CommandApiCors;
  /** Per-aggregate authorization, serialised into the function; a message refuses with 403. Default none: whoever the authorizer admits may touch any aggregate. */
  authorize?: AccessRule<S>;
  /** Steady-state requests per second across the API, above 0 and at most 10000. Default 100: caps what a runaway client costs. */
  rateLimit?: number;
  /** Requests above the rate in a burst, 1–5000. Default 200: absorbs a spike of two seconds at the rate. */
  burstLimit?: number;
  /** Function memory, 128–10240 MB. Default 256 (FUNCTION_DEFAULTS): room for the SDK clients. */
  memorySize?: number;
  /** Function timeout, 1–20 s: the integration waits the HTTP API's most, 30 s, which leaves 10 s for a cold start (the Init phase's limit); the SDK's attempts and timeouts are budgeted inside it (handlers/api/timeBudget.ts), so a stuck call ends in the handler's 503 + Retry-After. Default 10: a request stays short, 3 attempts fit. */
  timeout?: number;
  /** Where alarms notify. Default none: the alarm still shows in the console. */
  alarmActions?: pulumi.Input<string>[];
}

/** CommandApi's own defaults; the function's are in FUNCTION_DEFAULTS. */
export const COMMAND_API_DEFAULTS = { maxBodyBytes: DEFAULT_MAX_BODY_BYTES, rateLimit: 100, burstLimit: 200, timeout: 10 };

/** API Gateway's default account quotas per region: a stage limit above them has no effect. */
const THROTTLE_QUOTA = { rate: 10_000, burst: 5_000 } as const;

/** Every arg resolved and checked. */
export interface ApiSettings {
  auth: AuthSettings;
  maxBodyBytes: number;
  rateLimit: number;
  burstLimit: number;
  sizing: FunctionSettings;
}

/** Applies the defaults and checks every arg; throws `CommandApi <name>: …` on the first bad one. */
export function resolveApiSettings<S>(name: string, args: CommandApiArgs<S>): ApiSettings {
  const check = new ArgCheck("CommandApi", name);
  const { timeout, ...own } = withDefaults(COMMAND_API_DEFAULTS, {
    maxBodyBytes: args.maxBodyBytes,
    rateLimit: args.rateLimit,
    burstLimit: args.burstLimit,
    timeout: args.timeout,
  });
  check.integer("maxBodyBytes", own.maxBodyBytes, 1, MAX_BODY_BYTES_LIMIT);
  check.positive("rateLimit", own.rateLimit, THROTTLE_QUOTA.rate, " requests/s");
  check.integer("burstLimit", own.burstLimit, 1, THROTTLE_QUOTA.burst);
  check.that(
    args.validate === undefined || typeof args.validate === "function",
    `validate must be a function (type, data) => message | undefined, got ${typeof args.validate}`,
  );
  check.that(
    args.authorize === undefined || typeof args.authorize === "function",
    `authorize must be a function (principal, action, aggregateId, state) => message | undefined, got ${typeof args.authorize}`,
  );
  return {
    ...own,
    auth: resolveAuth(check, args.auth, args.cors),
    sizing: resolveFunction(check, { memorySize: args.memorySize, timeout }, API_TIME.maxFunctionTimeoutSeconds),
  };
}

/**
 * The HTTP command API.
 *
 * | Resource | Secure default |
 * |---|---|
 * | HTTP API + `$default` stage | auto-deploy, throttled (100 requests/s, burst 200), JSON access logs (30 d); CORS off |
 * | Routes | exactly the handler's routes, plus `$default` answered with a clear 404; every one behind the auth mode's authorizer: `AWS_IAM` (SigV4 + `execute-api:Invoke`) by default |
 * | JWT authorizer (jwt mode) | Authorization header, the configured issuer and audiences; POST needs `events:write`, GET `aggregates:read` |
 * | Integration | Lambda proxy, payload 2.0, waits 30 s (the HTTP API's most), at least 5 s longer than the function |
 * | Function | nodejs22.x arm64, 256 MB, 10 s (SDK: up to 3 attempts of 1 s connect + 2.2 s request; 503 + Retry-After at 9.5 s); bodies over 65536 bytes refused (413); refuses a request without the mode's verified identity; JSON logs in its own log group (30 d) |
 * | Function role | trusts Lambda only; may PutRecord on the stream (and GenerateDataKey via Kinesis on its customer-managed key) and GetItem on the table, nothing else |
 * | Permission | invoke only from this API's execution ARN |
 * | Alarms | 5xx answers (the gateway's count: the handler's 500s, timeouts, throttling), function crashes |
 */
export class CommandApi<S = unknown> extends pulumi.ComponentResource {
  public readonly api: aws.apigatewayv2.Api;
  /** How callers authenticate (`iam`, `jwt` or `none`). */
  public readonly authMode: string;
  /** The execute-api ARN of each declared route (path parameters as `*`): what an IAM caller's `execute-api:Invoke` names. */
  public readonly routeArns: pulumi.Output<string[]>;
  public readonly fn: aws.lambda.Function;
  public readonly role: aws.iam.Role;
  public readonly url: pulumi.Output<string>;
  public readonly routes: aws.apigatewayv2.Route[];
  public readonly alarms: aws.cloudwatch.MetricAlarm[];
  /** What the stack's dashboard shows of it (OperationsDashboard). */
  public readonly monitoring: Monitoring;

  constructor(name: string, args: CommandApiArgs<S>, opts?: pulumi.ComponentResourceOptions) {
    // Validate before registering anything: a bad maxBodyBytes would otherwise pass the deploy and fail every cold start.
    const s = resolveApiSettings(name, args);
    super(COMPONENT_TYPES.CommandApi, name, {}, opts);
    const child = { parent: this };
    const validate = args.validate;
    // Captured by the closure: the SDK's attempts and the handler's deadline fit the function's timeout.
    const budget = apiTimeBudget(s.sizing.timeout);
    // The handler passes whatever state it read; the domain's type is its own business.
    const authorize = args.authorize as AccessRule | undefined;
    this.authMode = s.auth.mode;
    if (s.auth.mode === "none") {
      pulumi.log.warn(`CommandApi ${name}: auth mode none — every route is open to anyone who finds the URL (set apiAuth to iam or jwt to close it)`, this);
    }

    const { fn, role } = closureFunction<HttpApiEvent, HttpApiResult>(
      `${name}-handler`,
      {
        description: "Appends commands to the event stream and serves the read model",
        // SDK-level retries absorb a brief throttle before the API answers 503; all of it within the deadline.
        callbackFactory: () => {
          const sdk = { maxAttempts: budget.maxAttempts, connectionTimeoutMs: budget.connectionTimeoutMs, requestTimeoutMs: budget.requestTimeoutMs };
          return createApi({
            kinesis: kinesisClient(sdk),
            dynamodb: dynamoClient(sdk),
            config: apiConfigFromEnv(process.env),
            validate,
            deadlineMs: budget.deadlineMs,
            authorize,
          });
        },
        sizing: s.sizing,
        environment: {
          [ENV.STREAM_NAME]: args.stream.name,
          [ENV.TABLE_NAME]: args.table.name,
          [ENV.MAX_BODY_BYTES]: String(s.maxBodyBytes),
          [ENV.API_AUTH]: s.auth.mode,
        },
        statements: [
          { Sid: "AppendEvents", Action: "kinesis:PutRecord", Resource: args.stream.arn },
          { Sid: "ReadReadModel", Action: "dynamodb:GetItem", Resource: args.table.arn },
          // A PutRecord on a stream with a customer-managed key needs a data key from it ("Permissions to use user-generated KMS keys").
          ...(args.stream.keyArn
            ? [{ Sid: "EncryptEvents", Action: "kms:GenerateDataKey", Resource: args.stream.keyArn, Condition: viaKinesis(args.stream.arn) }]
            : []),
        ],
      },
      child,
    );
    this.fn = fn;
    this.role = role;

    const cors = s.auth.cors;
    this.api = new aws.apigatewayv2.Api(
      `${name}-http`,
      {
        protocolType: "HTTP",
        description: "Event-sourced command API",
        // The policy pack tells an API left open by choice from one left open by mistake.
        tags: { "eventsourced:auth": s.auth.mode },
        ...(cors ? { corsConfiguration: cors } : {}),
      },
      child,
    );
    const authorizer = jwtAuthorizer(name, s.auth, this.api.id, child);
    const integration = new aws.apigatewayv2.Integration(
      `${name}-integration`,
      {
        apiId: this.api.id,
        integrationType: "AWS_PROXY",
        integrationUri: fn.arn,
        payloadFormatVersion: "2.0",
        // The most an HTTP API waits: the function (timeout ≤ 20 s) always answers first, cold start included.
        timeoutMilliseconds: API_TIME.integrationTimeoutMs,
      },
      child,
    );
    // The preflight route last, so the others keep their URNs (`-route-<i>`); open, as preflights carry no credentials.
    this.routes = [...API_ROUTES, "$default", ...(cors ? [PREFLIGHT_ROUTE] : [])].map(
      (routeKey, i) =>
        new aws.apigatewayv2.Route(
          `${name}-route-${i}`,
          {
            apiId: this.api.id,
            routeKey,
            target: pulumi.interpolate`integrations/${integration.id}`,
            ...(routeKey === PREFLIGHT_ROUTE ? { authorizationType: "NONE" } : routeAuthArgs(s.auth, routeKey, authorizer)),
          },
          child,
        ),
    );
    const accessLogs = new aws.cloudwatch.LogGroup(`${name}-access-logs`, { retentionInDays: 30 }, child);
    const stage = new aws.apigatewayv2.Stage(
      `${name}-stage`,
      {
        apiId: this.api.id,
        name: "$default",
        autoDeploy: true,
        defaultRouteSettings: { throttlingRateLimit: s.rateLimit, throttlingBurstLimit: s.burstLimit },
        accessLogSettings: {
          destinationArn: accessLogs.arn,
          format: JSON.stringify(ACCESS_LOG_FORMAT),
        },
      },
      { ...child, dependsOn: this.routes },
    );
    new aws.lambda.Permission(
      `${name}-invoke`,
      {
        action: "lambda:InvokeFunction",
        function: fn.name,
        principal: "apigateway.amazonaws.com",
        sourceArn: pulumi.interpolate`${this.api.executionArn}/*/*`,
      },
      child,
    );
    const watched = createAlarms(apiAlarmSpecs(name, this.api, stage, fn), args.alarmActions, child);
    this.alarms = watched.map((w) => w.alarm);
    this.monitoring = {
      title: `${name} API`,
      throughput: functionSums(fn, [
        [METRIC.eventsAccepted, "events accepted (202)"],
        [METRIC.requests2xx, "2xx"],
        [METRIC.requests4xx, "4xx"],
        [METRIC.requests5xx, "5xx from the handler"],
        [METRIC.throttles, "503 throttled"],
      ]),
      alarms: watched,
    };

    this.url = pulumi.interpolate`${this.api.apiEndpoint}/`;
    this.routeArns = routeArns(this.api.executionArn, API_ROUTES);
    this.registerOutputs({ url: this.url, stageName: stage.name, authMode: this.authMode, routeArns: this.routeArns });
  }
}

/**
 * The API's alarms. The handler answers its failures with 500 (and 503 when throttled) instead of
 * throwing, so Lambda's Errors counts only crashes and timeouts; what clients see is the gateway's
 * `5xx` (an HTTP API's metric, by ApiId and Stage), which counts those and the handler's answers alike.
 */
export function apiAlarmSpecs(name: string, api: aws.apigatewayv2.Api, stage: aws.apigatewayv2.Stage, fn: aws.lambda.Function): AlarmSpec[] {
  const once = { comparisonOperator: "GreaterThanOrEqualToThreshold" as const, threshold: 1, evaluationPeriods: 1 };
  return [
    {
      ...lambdaMetric(fn, "Errors", "Sum", "invocation errors"),
      ...once,
      name: `${name}-errors`,
      concern: "errors",
      description:
        "The command API function crashed or timed out (the gateway answered 5xx for it): read the function's log group around the time; the 5xx alarm counts every failed answer.",
    },
    {
      namespace: "AWS/ApiGateway",
      metricName: "5xx",
      dimensions: { ApiId: api.id, Stage: stage.name },
      statistic: "Sum",
      period: 60,
      label: "5xx answers",
      ...once,
      name: `${name}-5xx`,
      concern: "errors",
      description:
        "Clients got 5xx answers. Throttles (Throttles metric, 503 + Retry-After) mean the stream needs capacity; otherwise search the function's log for 'request failed' (each line carries the request id clients quote).",
    },
  ];
}
