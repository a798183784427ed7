import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { UpdateCommand, type UpdateCommandInput } from '@aws-sdk/lib-dynamodb';
import { dynamo } from './clients.js';

/**
 * An UpdateItem whose condition keeps it from recreating or reviving an item (acked, unsubscribed, expired):
 * returns false, instead of throwing, when the condition says the item is no longer there to update.
 */
export async function updateIfStill(input: UpdateCommandInput): Promise<boolean> {
  try {
    await dynamo.send(new UpdateCommand(input));
    return true;
  } catch (err) {
    if (err instanceof ConditionalCheckFailedException) return false;
    throw err;
  }
}
