import { DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';

const ddb = new DynamoDBClient({});

export async function handler(event: { requestContext: { connectionId: string } }) {
  await ddb.send(
    new PutItemCommand({
      TableName: process.env.TABLE_NAME,
      Item: { connectionId: { S: event.requestContext.connectionId } },
    }),
  );
  return { statusCode: 200, body: 'Connected.' };
}
