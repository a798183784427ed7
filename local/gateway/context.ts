import type { Spy } from '../spy.js';
import type { ConnectionRegistry } from './connections.js';
import type { EventTarget } from './events/requestContext.js';
import type { ConnectionFaults } from './faults.js';
import type { GatewayDeps } from './ids.js';
import type { Tasks } from './tasks.js';
import type { GatewayApi, GatewayLimits, Invoke } from './types.js';

/** Everything a lifecycle step or `@connections` action needs, passed as a value (no module-level state). */
export interface GatewayContext {
  readonly api: GatewayApi;
  /** The route keys a message can select: every route but `$connect` and `$disconnect`. */
  readonly messageRouteKeys: ReadonlySet<string>;
  readonly invoke: Invoke;
  readonly spy: Spy;
  readonly limits: GatewayLimits;
  readonly region: string;
  readonly target: EventTarget;
  readonly deps: GatewayDeps;
  readonly connections: ConnectionRegistry;
  readonly tasks: Tasks;
  /** Failures a test asked for. */
  readonly faults: ConnectionFaults;
  /** Where failures that are not AWS behaviour (emulator or runtime bugs) are reported. */
  readonly report: (error: unknown, where: string) => void;
}
