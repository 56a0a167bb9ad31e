/**
 * What `pulumi up` does to a resource that left the program, for the local
 * cloud's tables: a table the previous deploy into this data dir recorded and
 * this one does not declare is deleted from dynalite (a retired read-model
 * version, say). Deletion protection is honoured as DynamoDB honours it: a
 * departed table still protected in the previous deploy is refused, the
 * deploy fails naming it, and the previous manifest is kept so the next
 * start refuses it again until it is deployed unprotected first. Only tables:
 * streams and buckets that leave the program stay (none does in this
 * program's lifecycles), and nothing is deleted without a data dir (an
 * in-memory cloud starts empty).
 */
import * as fs from "fs";
import { DeleteTableCommand, DynamoDBClient, ResourceNotFoundException } from "@aws-sdk/client-dynamodb";
import { TYPES } from "../../components/parts/typeTokens";
import type { ManifestResource, StackManifest } from "../shared/manifest";

/** The previous deploy's manifest at `file`, or undefined on a first start. */
export function previousManifest(file: string): { manifest: StackManifest; text: string } | undefined {
  if (!fs.existsSync(file)) return undefined;
  const text = fs.readFileSync(file, "utf8");
  return { manifest: JSON.parse(text) as StackManifest, text };
}

/** The tables `before` recorded that `after` no longer declares (by physical name). */
export function departedTables(before: StackManifest, after: StackManifest): ManifestResource[] {
  const kept = new Set(after.resources.filter((r) => r.type === TYPES.table).map((r) => r.state.name as string));
  return before.resources.filter((r) => r.type === TYPES.table && !kept.has(r.state.name as string));
}

/**
 * Deletes the departed tables, or refuses them all when one is still protected (nothing deleted, the
 * previous manifest written back to `file`). Returns one line per table deleted.
 */
export async function deleteDepartedTables(
  dynamodb: DynamoDBClient,
  stack: string,
  previous: { manifest: StackManifest; text: string } | undefined,
  next: StackManifest,
  file: string,
): Promise<string[]> {
  if (!previous) return [];
  const departed = departedTables(previous.manifest, next);
  const protectedOnes = departed.filter((r) => r.inputs.deletionProtectionEnabled !== false);
  if (protectedOnes.length) {
    fs.writeFileSync(file, previous.text);
    const names = protectedOnes.map((r) => `${r.name} (${r.state.name})`).join(", ");
    throw new Error(
      `the ${stack} stack would delete ${names}, with deletion protection on: deploy with deletionProtection false first, then remove or retire (DynamoDB refuses it on AWS too)`,
    );
  }
  const lines: string[] = [];
  for (const r of departed) {
    try {
      await dynamodb.send(new DeleteTableCommand({ TableName: r.state.name }));
      lines.push(`deleted table ${r.state.name}: ${r.name} left the ${stack} stack's program`);
    } catch (err) {
      if (!(err instanceof ResourceNotFoundException)) throw err;
    }
  }
  return lines;
}
