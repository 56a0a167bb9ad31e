/**
 * The Pulumi program. One project, two stacks in two accounts:
 * `consumer` (analytics) is deployed first, then `producer` (the service).
 * The stack's `role` config (default: the stack name) picks which is built.
 * The domain — `reduce`, `map`, `validate`, `authorize` — lives in domain/;
 * the components serialise those closures into the Lambdas. The preflight
 * runs first and refuses bad config, listing every problem, before any
 * resource is registered.
 */
import * as pulumi from "@pulumi/pulumi";
import { authorize, map, readModels, reduce, validate } from "./domain";
import { preflightConsumer, preflightProducer } from "./preflight/program";
import { consumerReference, readConsumerConfig, readProducerConfig } from "./stacks/config";
import { consumerStack } from "./stacks/consumer";
import { producerStack } from "./stacks/producer";

export = async () => {
  const config = new pulumi.Config();
  const role = config.get("role") ?? pulumi.getStack();
  if (role === "consumer") {
    await preflightConsumer();
    return consumerStack(readConsumerConfig(config));
  }
  if (role === "producer") {
    const consumer = consumerReference(config);
    await preflightProducer(consumer);
    return producerStack(readProducerConfig(config, consumer), { reduce, map, validate, authorize, readModels });
  }
  throw new Error(`config "role" (or the stack name) must be "producer" or "consumer", got "${role}"`);
};
