/**
 * OperationsDashboard: one CloudWatch dashboard per stack, drawn from what
 * each component says it should be watched by (its `monitoring`): throughput,
 * lag, parked events, errors and landing freshness, each alarm's metric with
 * its threshold, and every alarm's state on top.
 */
import * as pulumi from "@pulumi/pulumi";
import * as aws from "@pulumi/aws";
import { dashboardBody, Monitoring } from "./parts/dashboard";
import { COMPONENT_TYPES } from "./parts/typeTokens";
import { ArgCheck } from "./parts/validation";

/** Args of {@link OperationsDashboard}. */
export interface OperationsDashboardArgs {
  /** The components to show, in this order (their `monitoring`). Required: a dashboard of nothing is a mistake. */
  parts: Monitoring[];
  /** The dashboard's name, 1–255 of A-Z a-z 0-9 _ -. Default `<project>-<stack>` with other characters as `-`: one per stack and account. */
  dashboardName?: string;
}

/** CloudWatch's rule for dashboard names. */
const DASHBOARD_NAME = /^[A-Za-z0-9_-]{1,255}$/;

/** `<project>-<stack>`, made a valid dashboard name. */
export function defaultDashboardName(project: string, stack: string): string {
  return `${project}-${stack}`.replace(/[^A-Za-z0-9_-]/g, "-").slice(0, 255);
}

/**
 * The stack's dashboard.
 *
 * | Resource | Secure default |
 * |---|---|
 * | `aws.cloudwatch.Dashboard` | named `<project>-<stack>`; shows metrics and alarm states only, no log data |
 */
export class OperationsDashboard extends pulumi.ComponentResource {
  public readonly dashboard: aws.cloudwatch.Dashboard;
  /** Where to open it in the console. */
  public readonly url: pulumi.Output<string>;

  constructor(name: string, args: OperationsDashboardArgs, opts?: pulumi.ComponentResourceOptions) {
    const check = new ArgCheck("OperationsDashboard", name);
    check.that(
      Array.isArray(args.parts) && args.parts.length > 0,
      `parts must list at least one component's monitoring, got ${JSON.stringify(args.parts?.length ?? args.parts)}`,
    );
    const dashboardName = args.dashboardName ?? defaultDashboardName(pulumi.getProject(), pulumi.getStack());
    check.matches("dashboardName", dashboardName, DASHBOARD_NAME, "1–255 characters of A-Z a-z 0-9 _ -");
    super(COMPONENT_TYPES.OperationsDashboard, name, {}, opts);
    const region = aws.getRegionOutput({}, { parent: this }).region;
    this.dashboard = new aws.cloudwatch.Dashboard(name, { dashboardName, dashboardBody: dashboardBody(args.parts, region) }, { parent: this });
    this.url = pulumi.interpolate`https://${region}.console.aws.amazon.com/cloudwatch/home?region=${region}#dashboards/dashboard/${this.dashboard.dashboardName}`;
    this.registerOutputs({ url: this.url });
  }
}
