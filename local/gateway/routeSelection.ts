/**
 * Evaluates a route selection expression such as `$request.body.action` against one text frame, the way API
 * Gateway does (https://docs.aws.amazon.com/apigateway/latest/developerguide/websocket-api-develop-routes.html):
 * parse the frame as JSON, follow the dot path, and match the result exactly against the route keys. A frame
 * that is not JSON, a missing path, or a value that matches no key falls back to `$default`. Non-scalar values
 * are stringified, so routing on them works but is not useful.
 *
 * @returns the selected route key, or `undefined` when nothing matches and there is no `$default` route.
 */
export function selectRoute(expression: string, body: string, routeKeys: ReadonlySet<string>): string | undefined {
  const value = evaluate(expression, body);
  if (value !== undefined && routeKeys.has(value)) return value;
  return routeKeys.has('$default') ? '$default' : undefined;
}

const PREFIX = '$request.body.';

/** The value of `$request.body.<path>` as a string, or `undefined` when the frame or the path does not yield one. */
export function evaluate(expression: string, body: string): string | undefined {
  if (!expression.startsWith(PREFIX)) {
    throw new Error(`unsupported route selection expression ${JSON.stringify(expression)}: only ${PREFIX}<path>`);
  }
  let current: unknown;
  try {
    current = JSON.parse(body);
  } catch {
    return undefined;
  }
  for (const key of expression.slice(PREFIX.length).split('.')) {
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string, unknown>)[key];
  }
  try {
    return stringify(current);
  } catch (err) {
    // Nested too deep to print (thousands of levels): no route key is such a value, so it routes to $default.
    if (err instanceof RangeError) return undefined;
    throw err;
  }
}

/** Scalars as their text; arrays the way API Gateway prints them (`[a, b]`); objects as JSON. */
function stringify(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (value === null) return 'null';
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return `[${value.map((v) => stringify(v) ?? '').join(', ')}]`;
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
