import {
  ApiGatewayManagementApiClient,
  GoneException,
  PostToConnectionCommand,
} from '@aws-sdk/client-apigatewaymanagementapi';
import { DeleteItemCommand, DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';

const ddb = new DynamoDBClient({});

interface Event {
  body: string;
  requestContext: { domainName: string; stage: string };
}

/** As AWS's sample: the endpoint comes from the event, every connection in the table gets the message. */
export async function handler(event: Event) {
  const { Items = [] } = await ddb.send(
    new ScanCommand({ TableName: process.env.TABLE_NAME, ProjectionExpression: 'connectionId' }),
  );
  const apigw = new ApiGatewayManagementApiClient({
    endpoint: `https://${event.requestContext.domainName}/${event.requestContext.stage}`,
  });
  const data = (JSON.parse(event.body) as { data: string }).data;
  await Promise.all(
    Items.map(async (item) => {
      const connectionId = item.connectionId?.S;
      try {
        await apigw.send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: data }));
      } catch (err) {
        if (!(err instanceof GoneException)) throw err;
        await ddb.send(
          new DeleteItemCommand({
            TableName: process.env.TABLE_NAME,
            Key: { connectionId: { S: connectionId ?? '' } },
          }),
        );
      }
    }),
  );
  return { statusCode: 200, body: 'Data sent.' };
}
