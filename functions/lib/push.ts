import { GoneException, PostToConnectionCommand } from '@aws-sdk/client-apigatewaymanagementapi';
import { managementApi } from './clients.js';

/**
 * Posts one frame (JSON text) to a connection through the Management API. `gone` means API Gateway no longer knows the
 * connection (closed, or its $connect still running); the caller decides what that means for it.
 */
export async function pushFrame(callbackUrl: string, connectionId: string, frame: string): Promise<'sent' | 'gone'> {
  try {
    await managementApi(callbackUrl).send(new PostToConnectionCommand({ ConnectionId: connectionId, Data: frame }));
    return 'sent';
  } catch (err) {
    if (err instanceof GoneException) return 'gone';
    throw err;
  }
}
