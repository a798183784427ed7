import { App, type CfnResource } from 'aws-cdk-lib';
import { HANDLER_NAMES, PostboxStack } from '../../infra/postbox-stack.js';
import { clientsFor, createQueue, createSecret, createTable, startServices } from '../../local/services/index.js';

type Resource = { Type: string; Properties?: Record<string, unknown> };

export interface Backend {
  /** The union of every Postbox function's environment, with Refs resolved to the emulated resources. */
  env: Record<string, string>;
  deadLetterQueueUrl: string;
  clients: ReturnType<typeof clientsFor>;
  stop(): Promise<void>;
}

/**
 * Starts fauxqs, dynalite and the Secrets Manager stand-in on loopback and creates in them the tables, queues and
 * secret that the Postbox stack declares, from its synthesized template, so handler tests run against the same
 * keys and indexes as production. Bundling is skipped: the tests import the handlers' source.
 */
export async function startBackend(): Promise<Backend> {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new PostboxStack(app, 'Postbox');
  const resources = app.synth().getStackByName('Postbox').template.Resources as Record<string, Resource>;
  const services = await startServices({});
  const clients = clientsFor(services);
  const physical = new Map<string, string>();
  const arns = new Map<string, string>();
  const ofType = (type: string) => Object.entries(resources).filter(([, r]) => r.Type === type);

  for (const [id, resource] of ofType('AWS::DynamoDB::Table')) {
    await createTable(clients.dynamodb, id, resource.Properties ?? {});
    physical.set(id, id);
  }
  // Dead-letter queues first: a redrive policy names its target's ARN.
  const queues = ofType('AWS::SQS::Queue').sort(([, a]) => (a.Properties?.RedrivePolicy ? 1 : -1));
  for (const [id, resource] of queues) {
    const props = { ...resource.Properties };
    const redrive = props.RedrivePolicy as { deadLetterTargetArn: { 'Fn::GetAtt': [string, string] } } | undefined;
    if (redrive) {
      props.RedrivePolicy = { ...redrive, deadLetterTargetArn: arns.get(redrive.deadLetterTargetArn['Fn::GetAtt'][0]) };
    }
    const queue = await createQueue(clients.sqs, id, props);
    physical.set(id, queue.url);
    arns.set(id, queue.arn);
  }
  for (const [id, resource] of ofType('AWS::SecretsManager::Secret')) {
    physical.set(id, (await createSecret(clients.secretsManager, id, resource.Properties ?? {})).arn);
  }

  const env: Record<string, string> = {
    AWS_REGION: services.region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_SQS: services.sqs,
    AWS_ENDPOINT_URL_DYNAMODB: services.dynamodb,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: services.secretsManager,
  };
  for (const name of HANDLER_NAMES) {
    const id = stack.getLogicalId(stack.handlers[name].function.node.defaultChild as CfnResource);
    const variables = (resources[id]?.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)
      ?.Variables;
    for (const [key, value] of Object.entries(variables ?? {})) {
      if (typeof value === 'string') env[key] = value;
      const ref = (value as { Ref?: string }).Ref;
      if (ref && physical.has(ref)) env[key] = physical.get(ref) as string;
    }
  }
  // Rejected frames and deliveries log at INFO; the tests assert on them instead.
  env.POWERTOOLS_LOG_LEVEL = 'WARN';
  const dlq = stack.getLogicalId(stack.messageQueue.deadLetterQueue.node.defaultChild as CfnResource);
  return {
    env,
    deadLetterQueueUrl: physical.get(dlq) as string,
    clients,
    stop: () => services.stop(),
  };
}
