import { ApiGatewayManagementApiClient, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';

interface Event {
  requestContext: { routeKey: string; apiId: string; stage: string; connectionId: string };
}

/**
 * `whoami` posts the caller its connection id through the endpoint built from the API id and the region;
 * `stackinfo` asks CloudFormation, a service with no local counterpart, and answers with what happened.
 */
export async function handler(event: Event) {
  const { routeKey, apiId, stage, connectionId } = event.requestContext;
  if (routeKey === 'whoami') {
    const endpoint = `https://${apiId}.execute-api.${process.env.AWS_REGION}.amazonaws.com/${stage}`;
    const apigw = new ApiGatewayManagementApiClient({ endpoint });
    await apigw.send(
      new PostToConnectionCommand({ ConnectionId: connectionId, Data: JSON.stringify({ connectionId }) }),
    );
    return { statusCode: 200 };
  }
  try {
    const stacks = await new CloudFormationClient({}).send(new DescribeStacksCommand({}));
    return { statusCode: 200, body: JSON.stringify({ stacks: stacks.Stacks?.length }) };
  } catch (err) {
    const { name, message } = err as Error;
    return { statusCode: 500, body: JSON.stringify({ name, message }) };
  }
}
