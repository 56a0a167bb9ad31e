/**
 * The PR workflow and the preview role it documents: the role's policy reads
 * configuration only (what a refresh of these resource types calls), never
 * data, since PR code runs with it; Dependabot's PRs (no OIDC secrets) skip
 * the preview instead of failing; the preview runs in a protected
 * environment; and the facts a preview depends on are stated where users
 * read them.
 */
import * as fs from "fs";
import * as path from "path";
import { expect } from "chai";
import { parse } from "yaml";
import { PROJECT_ROOT } from "../../local/shared/project";

const WORKFLOW = fs.readFileSync(path.join(PROJECT_ROOT, ".github/workflows/pull-request.yml"), "utf8");
const POLICY = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, ".github/preview-role-policy.json"), "utf8"));
const README = fs.readFileSync(path.join(PROJECT_ROOT, "README.md"), "utf8");

/** Actions that read data, or act: none may be in a role PR code can use. */
const DATA_OR_ACTION = [
  /^s3:GetObject/,
  /^s3:ListBucket$/,
  /^dynamodb:(GetItem|BatchGetItem|Query|Scan|PartiQL)/,
  /^kinesis:(GetRecords|GetShardIterator|SubscribeToShard)/,
  /^kms:(Decrypt|GenerateDataKey|Encrypt|ReEncrypt)/,
  /^lambda:Invoke/,
  /^sqs:ReceiveMessage/,
  /^logs:(GetLogEvents|FilterLogEvents|StartQuery|GetQueryResults)/,
  /^secretsmanager:GetSecretValue/,
  /^ssm:GetParameter/,
  /\*/,
];

describe("pull-request workflow and its preview role", () => {
  it("the preview role reads configuration only: Describe/Get/List (and API Gateway GET), no data, no writes", () => {
    const actions: string[] = POLICY.Statement.flatMap((s: { Action: string | string[] }) => s.Action);
    expect(actions.length).to.be.greaterThan(30);
    for (const a of actions) {
      expect(a, a).to.match(/^[a-z0-9]+:(Describe|Get|List)\w*$|^apigateway:GET$/);
      for (const bad of DATA_OR_ACTION) expect(a, `${a} reads data or acts`).to.not.match(bad);
    }
  });

  it("skips the preview for Dependabot and forks (no OIDC secrets) instead of failing, and runs it in a protected environment", () => {
    const wf = parse(WORKFLOW);
    const preview = wf.jobs.preview;
    expect(preview.if).to.include("github.actor != 'dependabot[bot]'");
    expect(preview.if).to.include("github.event.pull_request.head.repo.full_name == github.repository");
    expect(preview.environment).to.equal("pulumi-preview");
    expect(wf.permissions).to.deep.equal({ contents: "read" });
  });

  it("states what a preview depends on, in the workflow header and the README", () => {
    for (const [where, text] of [
      ["workflow", WORKFLOW],
      ["README", README],
    ]) {
      expect(text, where).to.match(/Pulumi\.producer\.yaml`? and `?Pulumi\.consumer\.yaml[^.]*commit/i);
      expect(text, where).to.match(/consumer[^.]*(deployed|pulumi up)[^.]*not (merely|just|only) initiali[sz]ed/i);
      expect(text, where).to.include("preview-role-policy.json");
    }
  });
});
