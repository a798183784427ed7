import { UnsupportedResourceError } from './errors.js';
import { originOf } from './origin.js';
import type { CfnTemplate } from './types.js';

/**
 * Types that change nothing a local run can observe: permissions (everything is allowed locally), log groups and
 * their metric filters, alarms, dashboards, CDK's own metadata, and API deployments (stages here always auto-deploy).
 */
export const INERT_TYPES = new Set([
  'AWS::IAM::Role',
  'AWS::IAM::Policy',
  'AWS::IAM::ManagedPolicy',
  'AWS::Lambda::Permission',
  'AWS::Logs::LogGroup',
  'AWS::Logs::MetricFilter',
  'AWS::CloudWatch::Alarm',
  'AWS::CloudWatch::Dashboard',
  'AWS::CDK::Metadata',
  'AWS::SQS::QueuePolicy',
  'AWS::ApiGatewayV2::Deployment',
]);

/**
 * For each supported type, the properties the runtime honours or may safely ignore (tags, encryption, tracing,
 * backups: nothing a handler could tell apart locally). Any other property may change behaviour, so it is refused.
 */
const KNOWN_PROPERTIES: Record<string, string[]> = {
  'AWS::ApiGatewayV2::Api': ['Name', 'ProtocolType', 'RouteSelectionExpression', 'Description', 'Tags'],
  'AWS::ApiGatewayV2::Stage': [
    'ApiId',
    'StageName',
    'AutoDeploy',
    'Description',
    'DeploymentId',
    'AccessLogSettings',
    'DefaultRouteSettings',
    'Tags',
  ],
  'AWS::ApiGatewayV2::Route': [
    'ApiId',
    'RouteKey',
    'Target',
    'AuthorizationType',
    'AuthorizerId',
    'RouteResponseSelectionExpression',
    'OperationName',
    'ApiKeyRequired',
  ],
  'AWS::ApiGatewayV2::Integration': [
    'ApiId',
    'IntegrationType',
    'IntegrationUri',
    'IntegrationMethod',
    'TimeoutInMillis',
    'PayloadFormatVersion',
    'CredentialsArn',
    'Description',
    'RequestTemplates',
    'TemplateSelectionExpression',
  ],
  'AWS::ApiGatewayV2::IntegrationResponse': [
    'ApiId',
    'IntegrationId',
    'IntegrationResponseKey',
    'ResponseTemplates',
    'TemplateSelectionExpression',
  ],
  'AWS::ApiGatewayV2::RouteResponse': ['ApiId', 'RouteId', 'RouteResponseKey'],
  'AWS::ApiGatewayV2::Authorizer': [
    'ApiId',
    'AuthorizerType',
    'AuthorizerUri',
    'IdentitySource',
    'Name',
    'AuthorizerCredentialsArn',
  ],
  'AWS::Lambda::Function': [
    'Code',
    'Handler',
    'Runtime',
    'Role',
    'Timeout',
    'MemorySize',
    'Environment',
    'FunctionName',
    'Description',
    'Architectures',
    'ReservedConcurrentExecutions',
    'LoggingConfig',
    'TracingConfig',
    'EphemeralStorage',
    'RuntimeManagementConfig',
    'Tags',
  ],
  'AWS::Lambda::EventSourceMapping': [
    'EventSourceArn',
    'FunctionName',
    'BatchSize',
    'MaximumBatchingWindowInSeconds',
    'FunctionResponseTypes',
    'ScalingConfig',
    'Enabled',
    'Tags',
  ],
  'AWS::SQS::Queue': [
    'QueueName',
    'VisibilityTimeout',
    'MessageRetentionPeriod',
    'RedrivePolicy',
    'RedriveAllowPolicy',
    'DelaySeconds',
    'MaximumMessageSize',
    'ReceiveMessageWaitTimeSeconds',
    'FifoQueue',
    'ContentBasedDeduplication',
    'DeduplicationScope',
    'FifoThroughputLimit',
    'SqsManagedSseEnabled',
    'KmsMasterKeyId',
    'KmsDataKeyReusePeriodSeconds',
    'Tags',
  ],
  'AWS::DynamoDB::Table': [
    'TableName',
    'KeySchema',
    'AttributeDefinitions',
    'BillingMode',
    'ProvisionedThroughput',
    'GlobalSecondaryIndexes',
    'LocalSecondaryIndexes',
    'TimeToLiveSpecification',
    'PointInTimeRecoverySpecification',
    'SSESpecification',
    'DeletionProtectionEnabled',
    'TableClass',
    'Tags',
  ],
  'AWS::SecretsManager::Secret': ['Name', 'Description', 'GenerateSecretString', 'SecretString', 'KmsKeyId', 'Tags'],
};

/** Refuses, naming the resource and the type or property, anything the runtime cannot reproduce. */
export function assertSupported(template: CfnTemplate): void {
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (INERT_TYPES.has(resource.Type)) continue;
    const { path } = originOf(logicalId, resource);
    const known = KNOWN_PROPERTIES[resource.Type];
    if (!known) {
      throw new UnsupportedResourceError(path, resource.Type, undefined, 'this resource type is not supported locally');
    }
    if (resource.Condition) {
      throw new UnsupportedResourceError(path, resource.Type, 'Condition', 'conditional resources are not supported');
    }
    for (const property of Object.keys(resource.Properties ?? {})) {
      if (!known.includes(property)) {
        throw new UnsupportedResourceError(path, resource.Type, property, 'this property is not supported locally');
      }
    }
  }
}

/** Throws the named error for a property whose value the runtime cannot reproduce. */
export function unsupportedValue(
  logicalId: string,
  template: CfnTemplate,
  property: string,
  detail: string,
): UnsupportedResourceError {
  const resource = template.Resources[logicalId];
  const { path } = originOf(logicalId, resource ?? { Type: 'unknown' });
  return new UnsupportedResourceError(path, resource?.Type ?? 'unknown', property, detail);
}
