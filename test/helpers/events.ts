import { randomBytes, randomUUID } from 'node:crypto';
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSEvent } from 'aws-lambda';
import { CAPABILITIES_CONTEXT_KEY, type Capabilities, FULL_ACCESS } from '../../functions/lib/capabilities.js';
import { toSqsRecord } from '../../local/sqs/records.js';

/** An id in API Gateway's format: 16 characters of URL-safe base64 ending in `=` (e.g. `R1kmxc2VNjMCFIA=`). */
export function gatewayId(): string {
  return `${randomBytes(11).toString('base64url').slice(0, 15)}=`;
}

/** A MESSAGE event as API Gateway sends it to a route's Lambda after a REQUEST authorizer allowed `clientId`. */
export function messageEvent(
  body: string,
  connectionId: string,
  clientId: string | undefined,
  routeKey = '$default',
  caps: Capabilities = FULL_ACCESS,
) {
  const now = Date.now();
  return {
    requestContext: {
      routeKey,
      messageId: gatewayId(),
      eventType: 'MESSAGE',
      extendedRequestId: gatewayId(),
      requestTime: new Date(now).toUTCString(),
      messageDirection: 'IN',
      stage: 'prod',
      connectedAt: now - 1000,
      requestTimeEpoch: now,
      identity: { sourceIp: '127.0.0.1', userAgent: 'vitest' },
      requestId: gatewayId(),
      domainName: 'abcdef1234.execute-api.us-east-1.amazonaws.com',
      connectionId,
      apiId: 'abcdef1234',
      ...(clientId
        ? {
            authorizer: {
              clientId,
              principalId: clientId,
              [CAPABILITIES_CONTEXT_KEY]: JSON.stringify(caps),
              integrationLatency: 3,
            },
          }
        : {}),
    },
    body,
    isBase64Encoded: false,
  };
}

/** A CONNECT or DISCONNECT event for an allowed client (only the fields that differ from MESSAGE matter here). */
export function lifecycleEvent(eventType: 'CONNECT' | 'DISCONNECT', connectionId: string, clientId: string) {
  const { body: _body, ...event } = messageEvent(
    '',
    connectionId,
    clientId,
    eventType === 'CONNECT' ? '$connect' : '$disconnect',
  );
  const { messageId: _messageId, ...requestContext } = event.requestContext;
  return {
    ...event,
    requestContext: { ...requestContext, eventType, disconnectStatusCode: 1000, disconnectReason: '' },
  };
}

/** A REQUEST authorizer event for `$connect` with the given query string. */
export function authorizerEvent(query: Record<string, string>) {
  const connectionId = gatewayId();
  return {
    type: 'REQUEST' as const,
    methodArn: 'arn:aws:execute-api:us-east-1:000000000000:abcdef1234/prod/$connect',
    headers: { Host: 'abcdef1234.execute-api.us-east-1.amazonaws.com' },
    multiValueHeaders: { Host: ['abcdef1234.execute-api.us-east-1.amazonaws.com'] },
    queryStringParameters: query,
    multiValueQueryStringParameters: Object.fromEntries(Object.entries(query).map(([k, v]) => [k, [v]])),
    stageVariables: {},
    requestContext: { ...lifecycleEvent('CONNECT', connectionId, 'x').requestContext, authorizer: undefined },
  };
}

/** A Lambda context with AWS's field formats. */
export function lambdaContext(functionName: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:${functionName}`,
    memoryLimitInMB: '256',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: `2026/11/28/[$LATEST]${randomBytes(16).toString('hex')}`,
    getRemainingTimeInMillis: () => 10_000,
    done: () => {},
    fail: () => {},
    succeed: () => {},
  };
}

/** Receives what the queue holds (waiting up to `waitSeconds` for the first) and shapes it as the SQS event source does. */
export async function receiveEvent(sqs: SQSClient, queueUrl: string, waitSeconds = 2): Promise<SQSEvent> {
  const received = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: waitSeconds,
      MessageSystemAttributeNames: ['All'],
    }),
  );
  const arn = `arn:aws:sqs:us-east-1:000000000000:${queueUrl.split('/').pop()}`;
  // Shaped by the local event source mapping's own builder, so these tests see what the runtime would send.
  return { Records: (received.Messages ?? []).map((m) => toSqsRecord(m, arn, 'us-east-1')) };
}
