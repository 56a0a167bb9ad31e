/**
 * What the steps of the local cloud share: the service shape each step
 * returns (a common `stop()`), the ordered set that stops them in reverse,
 * the run's directories and logs, and the manifest lookups every step makes.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { TYPES } from "../../components/parts/typeTokens";
import { ManifestFunction, ManifestResource, StackManifest } from "../shared/manifest";
import { LOCAL_CLOUD_DIR } from "../shared/project";
import { createMetricStore, MetricStore } from "../cloudwatch/metrics";
import { lockDataDir } from "../shared/runningCloud";
import { StreamWrites, streamWrites } from "../shared/streamWrites";

/** What every step returns: something running that stops. */
export interface Service {
  stop(): Promise<void>;
}

/** Services in the order they started; stopping stops them in reverse, each failure swallowed so the rest still stop. */
export class Services implements Service {
  private readonly started: Service[] = [];

  /** `signal`: once aborted, the next {@link add} throws its reason, so a start-up in progress stops at the next step. */
  constructor(private readonly signal?: AbortSignal) {}

  /** Records a started service and hands it back; throws (the service recorded, to be stopped) once the start is aborted. */
  add<T extends Service>(service: T): T {
    this.record(service);
    this.signal?.throwIfAborted();
    return service;
  }

  /** Records a started service, aborted or not (for services started side by side: each must be recorded to be stopped). */
  record<T extends Service>(service: T): T {
    this.started.push(service);
    return service;
  }

  async stop(): Promise<void> {
    for (const service of this.started.splice(0).reverse())
      await Promise.resolve()
        .then(() => service.stop())
        .catch(() => undefined);
  }
}

/** The runtime's own log (functions, mappings, Firehose, IAM decisions), one timestamped line per entry. */
export interface RuntimeLog {
  write(line: string): void;
  file: string;
}

/** One run of the local cloud: where it keeps things and where it reports. */
export interface CloudContext {
  /** Holds the stack runs' output, and the emulators' data when it persists. */
  workDir: string;
  /** Where an emulator's data persists (`<dataDir>/<name>`), or undefined to keep it in memory. */
  persistDir(name: string): string | undefined;
  /** Progress lines while starting. */
  progress(line: string): void;
  runtime: RuntimeLog;
  /** The functions' metrics, read from their log lines. */
  metrics: MetricStore;
  /** Puts the IAM proxies saw land, heard by the streams' readers. */
  writes: StreamWrites;
  /** Removes what the run leaves behind when nothing persists. */
  cleanUp(): void;
}

/**
 * Appends to `<dir>/local-cloud.log`: the lines of one turn of the event loop in one write (under load, a write
 * per line was a few percent of the orchestrator's CPU), made at once rather than through a write stream, whose
 * per-write bookkeeping and thread-pool hop cost more than the few kilobytes it appends; a line is in the file
 * when the turn after it ends.
 */
function runtimeLog(dir: string): RuntimeLog {
  const file = path.join(dir, "local-cloud.log");
  fs.mkdirSync(dir, { recursive: true });
  const fd = fs.openSync(file, "a");
  let pending = "";
  const flush = () => {
    const text = pending;
    pending = "";
    try {
      fs.writeSync(fd, text);
    } catch {
      // A full disk or a removed file: the log is for reading later, never a reason to fail a request.
    }
  };
  return {
    write: (line) => {
      if (!pending) setImmediate(flush);
      pending += `${new Date().toISOString()} ${line}\n`;
    },
    file,
  };
}

/** A run in `dataDir` (kept across restarts, and taken for this process: a second cloud on it is refused) or in a temporary directory (removed by cleanUp). */
export function cloudContext(options: { dataDir?: string; log?: (line: string) => void }): CloudContext {
  const workDir = options.dataDir ? path.resolve(options.dataDir) : fs.mkdtempSync(path.join(os.tmpdir(), "local-cloud-"));
  const release = options.dataDir ? lockDataDir(workDir) : () => undefined;
  return {
    workDir,
    persistDir: (name) => (options.dataDir ? path.join(workDir, name) : undefined),
    progress: options.log ?? (() => undefined),
    // The log outlives an in-memory run, for reading after Ctrl-C.
    runtime: runtimeLog(options.dataDir ? workDir : LOCAL_CLOUD_DIR),
    metrics: createMetricStore(),
    writes: streamWrites(),
    cleanUp: () => {
      release();
      if (!options.dataDir) fs.rmSync(workDir, { recursive: true, force: true });
    },
  };
}

/** The resources of one type a stack declared. */
export const ofType = (m: StackManifest, type: string): ManifestResource[] => m.resources.filter((r) => r.type === type);

/** The function a mapping's `functionName` input names: by ARN or by physical name, as Lambda resolves it. */
export function mappedFunction(m: StackManifest, mapping: ManifestResource): ManifestFunction {
  const name = mapping.inputs.functionName;
  const resource = ofType(m, TYPES.function).find((f) => f.state.arn === name || f.state.name === name);
  const fn = resource && m.functions.find((f) => f.arn === resource.state.arn);
  if (!fn) throw new Error(`local cloud: mapping ${mapping.name} must name a function of the ${m.stack} stack, got functionName ${name}`);
  return fn;
}

/** The account an ARN names. */
export function accountOf(arn: string): string {
  const account = arn.split(":")[4];
  if (!/^\d{12}$/.test(account)) throw new Error(`local cloud: an ARN names its account in the fifth field as 12 digits, got ${arn}`);
  return account;
}
