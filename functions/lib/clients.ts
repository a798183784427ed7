import { ApiGatewayManagementApiClient } from '@aws-sdk/client-apigatewaymanagementapi';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

// Clients are built once per container and take their endpoints from the SDK's own resolution, so the standard
// AWS_ENDPOINT_URL_* variables point them at local services without any code path of our own.

export const dynamo = DynamoDBDocumentClient.from(new DynamoDBClient({}), {
  marshallOptions: { removeUndefinedValues: true },
});

// Emulators hand out queue URLs whose host does not resolve offline (sqs.<region>.localhost); on AWS the resolved
// endpoint and the queue URL's host are the same, so letting the endpoint decide changes nothing there.
export const sqs = new SQSClient({ useQueueUrlAsEndpoint: false });

const management = new Map<string, ApiGatewayManagementApiClient>();

/** The Management API client for a stage's callback URL (`https://{apiId}.execute-api.{region}.amazonaws.com/{stage}`). */
export function managementApi(callbackUrl: string): ApiGatewayManagementApiClient {
  let client = management.get(callbackUrl);
  if (!client) {
    client = new ApiGatewayManagementApiClient({ endpoint: callbackUrl });
    management.set(callbackUrl, client);
  }
  return client;
}
