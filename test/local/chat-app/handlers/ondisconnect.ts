import { DeleteItemCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';

const ddb = new DynamoDBClient({});

export async function handler(event: { requestContext: { connectionId: string } }) {
  await ddb.send(
    new DeleteItemCommand({
      TableName: process.env.TABLE_NAME,
      Key: { connectionId: { S: event.requestContext.connectionId } },
    }),
  );
  return { statusCode: 200, body: 'Disconnected.' };
}
