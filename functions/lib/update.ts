import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './clients.js';

/**
 * An UpdateItem whose condition keeps it from recreating or reviving an item (acked, unsubscribed, expired): returns
 * the item's attributes as asked by `ReturnValues` (an empty object without), or undefined, instead of throwing,
 * when the condition says the item is no longer there to update.
 */
export async function updateIfStill(input: UpdateCommandInput): Promise<Record<string, unknown> | undefined> {
  try {
    const result = await dynamo.send(new UpdateCommand(input));
    return result.Attributes ?? {};
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return undefined;
    throw err;
  }
}
