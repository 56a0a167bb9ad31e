/**
 * Mocha root hooks: start the emulators once for the whole run and point the
 * standard AWS environment at them, exactly as the local cloud does for
 * functions. Tests create uniquely named tables and streams.
 *
 * Everything the run and the processes it starts write to the temp dir
 * (artifacts, data dirs, the command lines' state) goes under one directory
 * of its own (TMPDIR, which os.tmpdir() reads at each call and children
 * inherit), removed when the run ends: a run leaves nothing behind.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { Emulator, startDynalite, startKinesisLocal } from "./emulators";
import { REGION } from "./aws";

const runTmp = fs.mkdtempSync(path.join(os.tmpdir(), "event-pipeline-tests-"));
process.env.TMPDIR = runTmp;

let emulators: Emulator[] = [];

export const mochaHooks = {
  async beforeAll(this: Mocha.Context) {
    this.timeout(60_000);
    const [dynamo, kinesis] = await Promise.all([startDynalite(), startKinesisLocal()]);
    emulators = [dynamo, kinesis];
    process.env.AWS_REGION = REGION;
    process.env.AWS_ACCESS_KEY_ID = "111111111111";
    process.env.AWS_SECRET_ACCESS_KEY = "local";
    process.env.AWS_ENDPOINT_URL_DYNAMODB = dynamo.endpoint;
    process.env.AWS_ENDPOINT_URL_KINESIS = kinesis.endpoint;
  },
  async afterAll(this: Mocha.Context) {
    await Promise.all(emulators.map((e) => e.close()));
    fs.rmSync(runTmp, { recursive: true, force: true });
  },
};
