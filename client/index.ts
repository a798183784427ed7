/** What both entries (browser.ts, node.ts) export besides `connect`. */
export type {
  ClientEvents,
  ClientState,
  ConnectOptions,
  PostboxClient,
  QueueHandle,
  WebSocketConstructor,
  WebSocketLike,
} from './client.js';
export { CLIENT_CODES, PostboxError } from './errors.js';
export type { Message, MessageHandler } from './inbox.js';
export type { ConsumeOptions, Job, JobHandler } from './jobs.js';
export { nackDelaySeconds } from './jobs.js';
export { backoffDelay, type Clock, type Random, seededRandom } from './timing.js';
export { expiryOf, type TokenOptions } from './token.js';
