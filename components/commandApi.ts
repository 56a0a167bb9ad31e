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
import { API_ROUTES, apiConfigFromEnv, createApi, HttpApiEvent, HttpApiResult } from "../handlers/api";
import { dynamoClient, kinesisClient } from "../handlers/shared/clients";
import { ENV } from "../handlers/shared/env";
import { closureFunction } from "./parts/closureFunction";
import { COMPONENT_TYPES } from "./parts/typeTokens";

/** Args of {@link CommandApi}. */
export interface CommandApiArgs {
  /** Name and ARN of the event stream writes go to. */
  stream: { name: pulumi.Input<string>; arn: pulumi.Input<string> };
  /** Name and ARN of the read-model table reads come from. */
  table: { name: pulumi.Input<string>; arn: pulumi.Input<string> };
  /** Largest accepted body in bytes (≤ 900 KiB: the envelope must fit Kinesis's 1 MiB). Default 65,536. */
  maxBodyBytes?: number;
  /** Optional domain validation of a command, serialised into the function; returns a message to reject with. */
  validate?: (type: string, data: unknown) => string | undefined;
  /** Steady-state requests per second across the API. Default 100. */
  rateLimit?: number;
  /** Burst above the rate. Default 200. */
  burstLimit?: number;
  /** Where alarms notify. */
  alarmActions?: pulumi.Input<string>[];
}

/**
 * The HTTP command API.
 *
 * | Resource | Secure default |
 * |---|---|
 * | HTTP API + `$default` stage | auto-deploy, throttled, JSON access logs |
 * | Routes | exactly the handler's routes, plus `$default` answered with a clear 404 |
 * | Function | nodejs22.x arm64; role may PutRecord on the stream and GetItem on the table, nothing else |
 * | Permission | invoke only from this API's execution ARN |
 * | Alarm | function errors |
 */
export class CommandApi extends pulumi.ComponentResource {
  public readonly api: aws.apigatewayv2.Api;
  public readonly fn: aws.lambda.Function;
  public readonly url: pulumi.Output<string>;
  public readonly routes: aws.apigatewayv2.Route[];

  constructor(name: string, args: CommandApiArgs, opts?: pulumi.ComponentResourceOptions) {
    super(COMPONENT_TYPES.CommandApi, name, {}, opts);
    const child = { parent: this };
    const validate = args.validate;

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
          }),
        timeout: 10,
        environment: {
          [ENV.STREAM_NAME]: args.stream.name,
          [ENV.TABLE_NAME]: args.table.name,
          [ENV.MAX_BODY_BYTES]: String(args.maxBodyBytes ?? 65_536),
        },
        statements: [
          { Sid: "AppendEvents", Action: "kinesis:PutRecord", Resource: args.stream.arn },
          { Sid: "ReadReadModel", Action: "dynamodb:GetItem", Resource: args.table.arn },
        ],
      },
      child,
    );
    this.fn = fn;

    this.api = new aws.apigatewayv2.Api(`${name}-http`, { protocolType: "HTTP", description: "Event-sourced command API" }, child);
    const integration = new aws.apigatewayv2.Integration(
      `${name}-integration`,
      {
        apiId: this.api.id,
        integrationType: "AWS_PROXY",
        integrationUri: fn.arn,
        payloadFormatVersion: "2.0",
        timeoutMilliseconds: 10_000,
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
        defaultRouteSettings: { throttlingRateLimit: args.rateLimit ?? 100, throttlingBurstLimit: args.burstLimit ?? 200 },
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
    this.registerOutputs({ url: this.url, stageName: stage.name });
  }
}
