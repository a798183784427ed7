import { z } from 'zod';
import { ProtocolError } from './lib/errors.js';
import { ACTIONS } from './lib/protocol.js';
import { route } from './lib/route.js';

/**
 * `$default`: frames that match no route — not JSON (route() answers BadRequest), no `action`, or an action
 * Postbox does not have — each get an error frame that says why.
 */
export const handler = route(z.unknown(), async (frame) => {
  if (frame === null || typeof frame !== 'object' || Array.isArray(frame))
    throw new ProtocolError('BadRequest', 'frame: must be a JSON object');
  const { action } = frame as { action?: unknown };
  if (action === undefined) throw new ProtocolError('BadRequest', 'action: is required');
  if (typeof action !== 'string') throw new ProtocolError('BadRequest', 'action: must be a string');
  throw new ProtocolError('UnknownAction', `action: '${action}' is not one of ${ACTIONS.join(', ')}`);
});
