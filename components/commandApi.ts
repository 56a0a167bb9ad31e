/**
 * CommandApi: an API Gateway HTTP API whose one Lambda appends commands to
 * the event stream (202 + event id) and answers reads from the read model.
 *
 * awsx is not used here: its API Gateway component builds a REST API (v1),
 * which costs about 3.5× an HTTP API per request and has no payload v2.0.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import * as awsx from "@pulumi/awsx";
import { API_ROUTES, apiConfigFromEnv, createApi, DEFAULT_MAX_BODY_BYTES, HttpApiEvent, HttpApiResult } from "../handlers/api";
import { MAX_BODY_BYTES_LIMIT } from "../handlers/api/validation";
import { dynamoClient, kinesisClient } from "../handlers/shared/clients";
import { ENV } from "../handlers/shared/env";
import type { AccessRule, Validator } from "../handlers/shared/domain";
import { AuthSettings, CommandApiAuth, CommandApiCors, jwtAuthorizer, resolveAuth, routeArns, routeAuthArgs } from "./commandApi/auth";
import { closureFunction } from "./parts/closureFunction";
import { FunctionSettings, resolveFunction } from "./parts/lambdaDefaults";
import { COMPONENT_TYPES } from "./parts/typeTokens";
import { ArgCheck, withDefaults } from "./parts/validation";

export type { CommandApiAuth, CommandApiCors } from "./commandApi/auth";

/** Args of {@link CommandApi}. */
export interface CommandApiArgs<S = unknown> {
  /** Name and ARN of the event stream writes go to. Required. */
  stream: { name: pulumi.Input<string>; arn: pulumi.Input<string> };
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
  /** Function timeout, 1–30 s (an HTTP API integration waits at most 30 s); the integration waits as long. Default 10: a request stays short, and SDK retries fit. */
  timeout?: number;
  /** Where alarms notify. Default none: the alarm still shows in the console. */
  alarmActions?: pulumi.Input<string>[];
}

/** CommandApi's own defaults; the function's are in FUNCTION_DEFAULTS. */
export const COMMAND_API_DEFAULTS = { maxBodyBytes: DEFAULT_MAX_BODY_BYTES, rateLimit: 100, burstLimit: 200, timeout: 10 };

/** API Gateway's default account quotas per region: a stage limit above them has no effect. */
const THROTTLE_QUOTA = { rate: 10_000, burst: 5_000 } as const;
/** The longest an HTTP API waits for its integration. */
const MAX_INTEGRATION_SECONDS = 30;

/** Every arg resolved and checked. */
interface ApiSettings {
  auth: AuthSettings;
  maxBodyBytes: number;
  rateLimit: number;
  burstLimit: number;
  sizing: FunctionSettings;
}

/** Applies the defaults and checks every arg; throws `CommandApi <name>: …` on the first bad one. */
function resolveApiSettings<S>(name: string, args: CommandApiArgs<S>): ApiSettings {
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
    sizing: resolveFunction(check, { memorySize: args.memorySize, timeout }, MAX_INTEGRATION_SECONDS),
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
 * | Integration | Lambda proxy, payload 2.0, waits as long as the function's timeout (10 s) |
 * | Function | nodejs22.x arm64, 256 MB, 10 s; bodies over 65536 bytes refused (413); refuses a request without the mode's verified identity; JSON logs in its own log group (30 d) |
 * | Function role | trusts Lambda only; may PutRecord on the stream and GetItem on the table, nothing else |
 * | Permission | invoke only from this API's execution ARN |
 * | Alarm | function errors |
 */
export class CommandApi<S = unknown> extends pulumi.ComponentResource {
  public readonly api: aws.apigatewayv2.Api;
  /** How callers authenticate (`iam`, `jwt` or `none`). */
  public readonly authMode: string;
  /** The execute-api ARN of each declared route (path parameters as `*`): what an IAM caller's `execute-api:Invoke` names. */
  public readonly routeArns: pulumi.Output<string[]>;
  public readonly fn: aws.lambda.Function;
  public readonly url: pulumi.Output<string>;
  public readonly routes: aws.apigatewayv2.Route[];

  constructor(name: string, args: CommandApiArgs<S>, opts?: pulumi.ComponentResourceOptions) {
    // Validate before registering anything: a bad maxBodyBytes would otherwise pass the deploy and fail every cold start.
    const s = resolveApiSettings(name, args);
    super(COMPONENT_TYPES.CommandApi, name, {}, opts);
    const child = { parent: this };
    const validate = args.validate;
    // The handler passes whatever state it read; the domain's type is its own business.
    const authorize = args.authorize as AccessRule | undefined;
    this.authMode = s.auth.mode;
    if (s.auth.mode === "none") {
      pulumi.log.warn(`CommandApi ${name}: auth mode none — every route is open to anyone who finds the URL (set apiAuth to iam or jwt to close it)`, this);
    }

    const { fn } = closureFunction<HttpApiEvent, HttpApiResult>(
      `${name}-handler`,
      {
        description: "Appends commands to the event stream and serves the read model",
        // SDK-level retries absorb a brief throttle before the API answers 503.
        callbackFactory: () =>
          createApi({
            kinesis: kinesisClient({ maxAttempts: 3 }),
            dynamodb: dynamoClient({ maxAttempts: 3 }),
            config: apiConfigFromEnv(process.env),
            validate,
            authorize,
          }),
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
        ],
      },
      child,
    );
    this.fn = fn;

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
        timeoutMilliseconds: s.sizing.timeout * 1000,
      },
      child,
    );
    this.routes = [...API_ROUTES, "$default"].map(
      (routeKey, i) =>
        new aws.apigatewayv2.Route(
          `${name}-route-${i}`,
          {
            apiId: this.api.id,
            routeKey,
            target: pulumi.interpolate`integrations/${integration.id}`,
            ...routeAuthArgs(s.auth, routeKey, authorizer),
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
          format: JSON.stringify({
            requestId: "$context.requestId",
            routeKey: "$context.routeKey",
            status: "$context.status",
            latencyMs: "$context.responseLatency",
            integrationError: "$context.integrationErrorMessage",
          }),
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
    awsx.classic.lambda.metrics.errors({ function: fn, statistic: "Sum", period: 60 }).createAlarm(
      `${name}-errors`,
      {
        threshold: 1,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
        evaluationPeriods: 1,
        alarmDescription: "The command API function threw (clients saw 5xx).",
        treatMissingData: "notBreaching",
        alarmActions: args.alarmActions ?? [],
      },
      child,
    );

    this.url = pulumi.interpolate`${this.api.apiEndpoint}/`;
    this.routeArns = routeArns(this.api.executionArn, API_ROUTES);
    this.registerOutputs({ url: this.url, stageName: stage.name, authMode: this.authMode, routeArns: this.routeArns });
  }
}
