/** A producer stack's manifest for tests of the local cloud's steps: the given resources and functions, nothing else. */
import { ManifestFunction, ManifestResource, StackManifest } from "../../local/shared/manifest";

export const producerManifest = (resources: ManifestResource[], functions: ManifestFunction[] = []): StackManifest => ({
  stack: "producer",
  account: "111111111111",
  region: "us-east-1",
  outputs: {},
  resources,
  functions,
  notEmulated: {},
});
