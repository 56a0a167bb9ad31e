/**
 * Tables that leave the program, against dynalite: a table the previous
 * deploy's manifest (in a data dir) recorded and the new one does not declare
 * is deleted; one still deletion-protected is refused, nothing is deleted and
 * the previous manifest is written back, so the next start refuses it again.
 */
import { expect } from "chai";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { paginateListTables } from "@aws-sdk/client-dynamodb";
import { deleteDepartedTables, previousManifest } from "../../../local/deploy/departed";
import { TYPES } from "../../../components/parts/typeTokens";
import { createTable, testDynamo, uniqueName } from "../../support/aws";
import { producerManifest } from "../../support/manifests";

const table = (name: string, physical: string, deletionProtectionEnabled: boolean) => ({
  type: TYPES.table,
  id: physical,
  name,
  inputs: { deletionProtectionEnabled },
  state: { name: physical },
});

describe("local deploy: tables that leave the program", () => {
  const dynamo = testDynamo();
  // Every table, all pages: the suite's other tests leave many behind in the shared emulator.
  const tables = async () => {
    const names: string[] = [];
    for await (const page of paginateListTables({ client: dynamo }, {})) names.push(...(page.TableNames ?? []));
    return names;
  };
  let file: string;
  beforeEach(() => {
    file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "departed-")), "manifest.json");
  });

  it("deletes a departed unprotected table and keeps the declared ones", async () => {
    const [gone, kept] = [uniqueName("gone"), uniqueName("kept")];
    await createTable(dynamo, gone);
    await createTable(dynamo, kept);
    fs.writeFileSync(file, JSON.stringify(producerManifest([table("orders-read-model", gone, false), table("orders-v2-read-model", kept, true)])));
    const next = producerManifest([table("orders-v2-read-model", kept, true)]);
    const lines = await deleteDepartedTables(dynamo, "producer", previousManifest(file), next, file);
    expect(lines).to.deep.equal([`deleted table ${gone}: orders-read-model left the producer stack's program`]);
    expect(await tables())
      .to.include(kept)
      .and.not.include(gone);
    // Again (already gone, or a first start without a previous manifest): nothing to do.
    expect(await deleteDepartedTables(dynamo, "producer", previousManifest(file), next, file)).to.deep.equal([]);
    expect(await deleteDepartedTables(dynamo, "producer", undefined, next, file)).to.deep.equal([]);
  });

  it("refuses a departed table still deletion-protected: nothing deleted, the previous manifest kept", async () => {
    const [protectedOne, open] = [uniqueName("protected"), uniqueName("open")];
    await createTable(dynamo, protectedOne);
    await createTable(dynamo, open);
    const before = JSON.stringify(producerManifest([table("orders-read-model", protectedOne, true), table("orders-parked", open, false)]));
    fs.writeFileSync(file, before);
    const previous = previousManifest(file);
    fs.writeFileSync(file, JSON.stringify(producerManifest([]))); // what the new deploy wrote
    const refused = await deleteDepartedTables(dynamo, "producer", previous, producerManifest([]), file).then(
      () => "deleted",
      (err: Error) => err.message,
    );
    expect(refused).to.equal(
      `the producer stack would delete orders-read-model (${protectedOne}), with deletion protection on: deploy with deletionProtection false first, then remove or retire (DynamoDB refuses it on AWS too)`,
    );
    expect(await tables()).to.include.members([protectedOne, open]);
    expect(fs.readFileSync(file, "utf8")).to.equal(before);
  });
});
