/**
 * The local cloud's S3: s3rver on a free 127.0.0.1 port, silent, storing in a
 * temp directory (removed at stop) or in a given one (kept: persistence).
 * Path-style only: clients must set `forcePathStyle`.
 */
import * as fs from "fs";
import * as net from "net";
import * as os from "os";
import * as path from "path";
import { guardServer } from "../shared/browserGuard";
import { LOCAL_ACCOUNTS } from "../shared/manifest";

/** A running S3 emulator. */
export interface LocalS3 {
  endpoint: string;
  /** Where objects are stored. */
  directory: string;
  stop(): Promise<void>;
}

/** Options of {@link startS3}. */
export interface StartS3Options {
  /** Keep objects here across runs; default a temp directory removed at stop. */
  directory?: string;
  /** Access key ids s3rver accepts, besides its own; default the local accounts. */
  accessKeyIds?: string[];
}

/**
 * s3rver authenticates only access keys in its registry (its own `S3RVER`);
 * by the local identity convention the access key id is the account id, so
 * those are registered too. It does not verify SigV4 signatures.
 */
function registerAccessKeys(ids: string[]): void {
  const AWSAccount = require("s3rver/lib/models/account");
  for (const id of ids) {
    if (AWSAccount.registry.has(id)) continue;
    new AWSAccount(Number(id), `local-${id}`).createKeyPair(id, "local");
  }
}

/** Starts s3rver; buckets are created through the S3 API (CreateBucket). */
export async function startS3(options: StartS3Options = {}): Promise<LocalS3> {
  const S3rver = require("s3rver");
  const temporary = options.directory === undefined;
  const directory = options.directory ?? fs.mkdtempSync(path.join(os.tmpdir(), "local-s3-"));
  fs.mkdirSync(directory, { recursive: true });
  registerAccessKeys(options.accessKeyIds ?? Object.values(LOCAL_ACCOUNTS));
  // vhostBuckets off: a Host of 127.0.0.1 must never be read as a bucket name.
  const server = new S3rver({ address: "127.0.0.1", port: 0, silent: true, directory, vhostBuckets: false, resetOnClose: false });
  let address: net.AddressInfo;
  try {
    address = await server.run();
  } catch (err) {
    if (temporary) fs.rmSync(directory, { recursive: true, force: true });
    throw err;
  }
  if (server.httpServer) guardServer(server.httpServer);
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    directory,
    stop: async () => {
      const closed = server.close();
      server.httpServer?.closeAllConnections?.();
      await closed;
      if (temporary) fs.rmSync(directory, { recursive: true, force: true });
    },
  };
}
