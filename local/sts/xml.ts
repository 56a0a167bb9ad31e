/**
 * The STS Query API's XML answers, shared by the local STS, its stub and the
 * IAM enforcer's STS denials, so all speak exactly what the SDK parses.
 */

/** The STS response namespace. */
export const STS_NS = "https://sts.amazonaws.com/doc/2011-06-15/";

/** Escapes text for an XML element or attribute. */
export function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** An error answer; 5xx statuses are the Receiver's fault, others the Sender's. */
export function stsErrorXml(code: string, message: string, requestId: string, status = 400): string {
  return (
    `<ErrorResponse xmlns="${STS_NS}"><Error><Type>${status < 500 ? "Sender" : "Receiver"}</Type><Code>${xmlEscape(code)}</Code>` +
    `<Message>${xmlEscape(message)}</Message></Error><RequestId>${requestId}</RequestId></ErrorResponse>`
  );
}

/** What an AssumeRole answer carries. */
export interface IssuedSession {
  /** The access key id (the local convention: the assumed role's account id). */
  accessKeyId: string;
  sessionToken: string;
  expiration: Date;
  assumedRoleId: string;
  assumedRoleArn: string;
  requestId: string;
}

/** A successful AssumeRole answer. */
export function assumeRoleXml(s: IssuedSession): string {
  return (
    `<AssumeRoleResponse xmlns="${STS_NS}"><AssumeRoleResult>` +
    `<Credentials><AccessKeyId>${xmlEscape(s.accessKeyId)}</AccessKeyId><SecretAccessKey>local</SecretAccessKey>` +
    `<SessionToken>${xmlEscape(s.sessionToken)}</SessionToken><Expiration>${s.expiration.toISOString()}</Expiration></Credentials>` +
    `<AssumedRoleUser><AssumedRoleId>${xmlEscape(s.assumedRoleId)}</AssumedRoleId><Arn>${xmlEscape(s.assumedRoleArn)}</Arn></AssumedRoleUser>` +
    `</AssumeRoleResult><ResponseMetadata><RequestId>${s.requestId}</RequestId></ResponseMetadata></AssumeRoleResponse>`
  );
}
