import { generatedName, generatedSecretName } from './naming.js';
import { originOf } from './origin.js';
import { referencesOfType } from './references.js';
import { unsupportedValue } from './support.js';
import type { CfnResource, CfnTemplate, QueueModel, SecretModel, TableModel } from './types.js';

/** Models an `AWS::SQS::Queue`; its dead-letter queue must be a queue of the same template. */
export function buildQueue(
  logicalId: string,
  resource: CfnResource,
  template: CfnTemplate,
  stackName: string,
): QueueModel {
  const props = resource.Properties ?? {};
  const fifo = props.FifoQueue === true || props.FifoQueue === 'true';
  const name =
    typeof props.QueueName === 'string'
      ? props.QueueName
      : generatedName(stackName, logicalId, 80, fifo ? '.fifo' : '');
  const queue: QueueModel = {
    ...originOf(logicalId, resource),
    name,
    fifo,
    properties: props,
    // SQS's default visibility timeout is 30 s [SQS-QUOTA].
    visibilityTimeoutSeconds: Number(props.VisibilityTimeout ?? 30),
  };
  if (props.RedrivePolicy === undefined) return queue;
  const policy = (typeof props.RedrivePolicy === 'string' ? JSON.parse(props.RedrivePolicy) : props.RedrivePolicy) as {
    deadLetterTargetArn?: unknown;
    maxReceiveCount?: unknown;
  };
  const [deadLetterQueueId] = referencesOfType(template, policy.deadLetterTargetArn, 'AWS::SQS::Queue');
  if (!deadLetterQueueId) {
    throw unsupportedValue(logicalId, template, 'RedrivePolicy', 'the dead-letter queue must be a queue of this stack');
  }
  return { ...queue, redrive: { deadLetterQueueId, maxReceiveCount: Number(policy.maxReceiveCount) } };
}

/** Models an `AWS::DynamoDB::Table` (keys, indexes and TTL are created by the services module). */
export function buildTable(logicalId: string, resource: CfnResource, stackName: string): TableModel {
  const props = resource.Properties ?? {};
  const name = typeof props.TableName === 'string' ? props.TableName : generatedName(stackName, logicalId, 255);
  return { ...originOf(logicalId, resource), name, properties: props };
}

/** Models an `AWS::SecretsManager::Secret`; its value is generated or copied when it is created. */
export function buildSecret(logicalId: string, resource: CfnResource, stackName: string): SecretModel {
  const props = resource.Properties ?? {};
  const name = typeof props.Name === 'string' ? props.Name : generatedSecretName(stackName, logicalId);
  return { ...originOf(logicalId, resource), name, properties: props };
}
