/**
 * In-memory stand-in for the SQS queues event-source mappings send their
 * on-failure records to. Optionally each queue is also appended to a JSON-lines
 * file, so what the mappings gave up on survives a restart of `npm start` and
 * can be inspected with ordinary tools.
 */
import { randomUUID } from "crypto";
import * as fs from "fs";
import * as path from "path";

/** One message as a queue holds it. */
export interface QueueMessage {
  messageId: string;
  queueArn: string;
  /** ISO time it was sent. */
  sentAt: string;
  /** The JSON body (for mappings: Lambda's on-failure invocation record). */
  body: any;
}

/** The local on-failure queues, keyed by queue ARN. */
export interface OnFailureQueues {
  /** Appends a message to a queue (created on first use, as the ARN names an existing queue in the stack). */
  send(queueArn: string, message: object): Promise<void>;
  /** The messages of one queue, oldest first (a copy). */
  messages(queueArn: string): QueueMessage[];
  /** Message count per queue ARN. */
  counts(): Record<string, number>;
}

/** Options of {@link createQueues}. */
export interface QueueOptions {
  /** Directory for `<queue name>.jsonl` files; existing files are loaded. */
  dir?: string;
}

function queueName(arn: string): string {
  // arn:aws:sqs:<region>:<account>:<name>; the name alone may collide across accounts.
  const parts = arn.split(":");
  if (parts.length !== 6 || parts[2] !== "sqs") throw new Error(`not an SQS queue ARN: ${arn}`);
  return `${parts[4]}-${parts[5]}`.replace(/[^A-Za-z0-9_.-]/g, "_");
}

/** Creates the queues, loading any persisted messages from the directory (given as `dir` or directly). */
export function createQueues(optionsOrDir: QueueOptions | string = {}): OnFailureQueues {
  const options: QueueOptions = typeof optionsOrDir === "string" ? { dir: optionsOrDir } : optionsOrDir;
  const queues = new Map<string, QueueMessage[]>();
  const files = new Map<string, string>();
  const fileOf = (arn: string): string | undefined => {
    if (!options.dir) return undefined;
    let file = files.get(arn);
    if (!file) {
      file = path.join(options.dir, `${queueName(arn)}.jsonl`);
      files.set(arn, file);
    }
    return file;
  };
  const load = (arn: string): QueueMessage[] => {
    let list = queues.get(arn);
    if (list) return list;
    queueName(arn); // validates the ARN
    list = [];
    queues.set(arn, list);
    return list;
  };
  if (options.dir) {
    fs.mkdirSync(options.dir, { recursive: true });
    // Each line names its queue, so counts() lists persisted queues before any new send.
    for (const name of fs
      .readdirSync(options.dir)
      .filter((f) => f.endsWith(".jsonl"))
      .sort()) {
      for (const line of fs.readFileSync(path.join(options.dir, name), "utf8").split("\n")) {
        if (!line.trim()) continue;
        const entry: QueueMessage = JSON.parse(line);
        load(entry.queueArn).push(entry);
      }
    }
  }
  return {
    async send(queueArn, message) {
      const list = load(queueArn);
      // A JSON round trip, as SQS holds a string body: nothing shared with the sender.
      const entry: QueueMessage = { messageId: randomUUID(), queueArn, sentAt: new Date().toISOString(), body: JSON.parse(JSON.stringify(message)) };
      const file = fileOf(queueArn);
      if (file) fs.appendFileSync(file, `${JSON.stringify(entry)}\n`);
      list.push(entry);
    },
    messages(queueArn) {
      return load(queueArn).map((m) => ({ ...m }));
    },
    counts() {
      return Object.fromEntries([...queues].map(([arn, list]) => [arn, list.length]));
    },
  };
}
