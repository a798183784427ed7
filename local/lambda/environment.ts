import type { ServiceEndpoints } from '../services/provision.js';
import type { FunctionModel } from '../template/types.js';
import type { HostRoutes } from './network.ts';

/**
 * The variables Lambda sets in every Node.js environment (region, function name, memory, handler, task root, dummy
 * credentials), plus the SDK's standard endpoint variables, which point the handlers' unmodified AWS SDK clients
 * at the local services. The function's own variables win, except the ones Lambda reserves.
 */
export function runtimeEnvironment(
  fn: FunctionModel,
  region: string,
  endpoints: Omit<ServiceEndpoints, 'region'>,
  variables: Record<string, string>,
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    LANG: 'en_US.UTF-8',
    ...variables,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_LAMBDA_FUNCTION_NAME: fn.name,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.name}`,
    AWS_EXECUTION_ENV: `AWS_Lambda_${fn.runtime}`,
    AWS_ENDPOINT_URL_SQS: endpoints.sqs,
    AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
    AWS_ENDPOINT_URL_SECRETS_MANAGER: endpoints.secretsManager,
    LAMBDA_TASK_ROOT: fn.taskRoot,
    _HANDLER: fn.handler,
  };
}

/**
 * The AWS hosts a local function's requests are sent to the local services for, whatever endpoint its code builds:
 * the API's own `execute-api` host (as `requestContext.domainName` names it) and the regional hosts of SQS (including
 * the legacy `queue.amazonaws.com` forms SDK v2 uses), DynamoDB and Secrets Manager.
 */
export function hostRoutes(
  region: string,
  endpoints: Omit<ServiceEndpoints, 'region'>,
  api: { apiId: string; gatewayBaseUrl: string } | undefined,
  /** The hosts of the queue URLs the functions are given (`sqs.us-east-1.localhost` from fauxqs). */
  queueHosts: Iterable<string> = [],
): HostRoutes {
  const local: Record<string, string> = {
    [`sqs.${region}.amazonaws.com`]: endpoints.sqs,
    [`${region}.queue.amazonaws.com`]: endpoints.sqs,
    [`dynamodb.${region}.amazonaws.com`]: endpoints.dynamodb,
    [`secretsmanager.${region}.amazonaws.com`]: endpoints.secretsManager,
  };
  if (region === 'us-east-1') local['queue.amazonaws.com'] = endpoints.sqs;
  // SDK v2's SQS client (every version) sends each request to its QueueUrl's host, and fauxqs's host does not
  // resolve without a resolver that maps *.localhost to loopback (glibc without nss-myhostname has none).
  for (const host of queueHosts) local[host.toLowerCase()] ??= endpoints.sqs;
  if (api) local[`${api.apiId}.execute-api.${region}.amazonaws.com`] = api.gatewayBaseUrl;
  return { local };
}
