/**
 * How the producer stack names each read-model version's component, and so
 * its tables: `orders-v<n>` makes `orders-v<n>-read-model-<suffix>` and
 * `orders-v<n>-parked-<suffix>` (version 1's are `orders-read-model-…`). The
 * operator tools read a table's version back from its name. No imports: the
 * tools load it without Pulumi.
 */

/** The component name of read-model version `version` (≥ 2) of the component `table`. */
export function readModelVersionName(table: string, version: number): string {
  return `${table}-v${version}`;
}

/** The read-model version a read-model or parked table's name says (1 when it names none). */
export function readModelVersionOfTable(tableName: string): number {
  const m = /-v(\d{1,3})-(?:read-model|parked)(?:-[0-9a-z]+)?$/.exec(tableName);
  return m ? Number(m[1]) : 1;
}
