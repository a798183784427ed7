import { describe, expect, it } from 'vitest';
import { matchPath } from '../../local/gateway/connectionsRouter.js';
import { ForbiddenError, GatewayError, GoneError, PayloadTooLargeError } from '../../local/gateway/errors.js';
import { type FrameHeader, FrameScanner } from '../../local/gateway/frameScanner.js';
import { clfTime, defaultDeps, newAwsId, newTraceId } from '../../local/gateway/ids.js';
import { allows } from '../../local/gateway/lifecycle/policy.js';
import { routeResponseFrame } from '../../local/gateway/lifecycle/routeResponse.js';
import { AWS_LIMITS, resolveLimits } from '../../local/gateway/limits.js';
import { mockResponse } from '../../local/gateway/mock.js';
import { evaluate, selectRoute } from '../../local/gateway/routeSelection.js';
import { gatewayFrame } from '../../local/gateway/send.js';

const EXPR = '$request.body.action';

describe('route selection', () => {
  const keys = new Set(['publish', 'send', '$default', '[a, b]', '42', 'true']);

  it('selects the route whose key equals the value at the path', () => {
    expect(selectRoute(EXPR, '{"action":"publish"}', keys)).toBe('publish');
  });

  it('follows dot paths', () => {
    expect(evaluate('$request.body.meta.kind', '{"meta":{"kind":"send"}}')).toBe('send');
    expect(selectRoute('$request.body.meta.kind', '{"meta":{"kind":"send"}}', keys)).toBe('send');
  });

  it('falls back to $default for non-JSON, a missing path and an unknown key', () => {
    expect(selectRoute(EXPR, 'not json', keys)).toBe('$default');
    expect(selectRoute(EXPR, '{"other":"publish"}', keys)).toBe('$default');
    expect(selectRoute(EXPR, '{"action":"nope"}', keys)).toBe('$default');
    expect(selectRoute(EXPR, '"publish"', keys)).toBe('$default');
  });

  it('stringifies non-string values before matching', () => {
    expect(selectRoute(EXPR, '{"action":["a","b"]}', keys)).toBe('[a, b]');
    expect(selectRoute(EXPR, '{"action":42}', keys)).toBe('42');
    expect(selectRoute(EXPR, '{"action":true}', keys)).toBe('true');
    expect(evaluate(EXPR, '{"action":{"x":1}}')).toBe('{"x":1}');
    expect(evaluate(EXPR, '{"action":null}')).toBe('null');
  });

  it('returns undefined when nothing matches and there is no $default', () => {
    expect(selectRoute(EXPR, '{"action":"nope"}', new Set(['publish']))).toBeUndefined();
  });

  it('does not follow inherited properties', () => {
    expect(evaluate('$request.body.constructor', '{}')).toBeUndefined();
  });

  it('refuses expressions other than $request.body paths', () => {
    expect(() => evaluate('$request.header.x', '{}')).toThrow(/unsupported route selection expression/);
  });
});

describe('frame scanner', () => {
  /** A masked client frame header (RFC 6455 §5.2) followed by `length` payload bytes. */
  function frame(opcode: number, length: number, fin = true): Buffer {
    const first = (fin ? 0x80 : 0) | opcode;
    let header: Buffer;
    if (length < 126) header = Buffer.from([first, 0x80 | length]);
    else if (length < 65536) header = Buffer.from([first, 0x80 | 126, length >> 8, length & 0xff]);
    else {
      header = Buffer.alloc(10);
      header[0] = first;
      header[1] = 0x80 | 127;
      header.writeBigUInt64BE(BigInt(length), 2);
    }
    return Buffer.concat([header, Buffer.from([1, 2, 3, 4]), Buffer.alloc(length)]);
  }

  function scan(chunks: Buffer[]): FrameHeader[] {
    const seen: FrameHeader[] = [];
    const scanner = new FrameScanner((f) => seen.push(f));
    for (const chunk of chunks) scanner.push(chunk);
    return seen;
  }

  it('reports 7-bit, 16-bit and 64-bit lengths', () => {
    const stream = Buffer.concat([frame(1, 5), frame(1, 40_000), frame(2, 70_000)]);
    expect(scan([stream])).toEqual([
      { fin: true, opcode: 1, length: 5 },
      { fin: true, opcode: 1, length: 40_000 },
      { fin: true, opcode: 2, length: 70_000 },
    ]);
  });

  it('reads headers split across chunks, byte by byte', () => {
    const stream = Buffer.concat([frame(1, 300, false), frame(0, 20), frame(9, 0)]);
    const bytes = [...stream].map((b) => Buffer.from([b]));
    expect(scan(bytes)).toEqual([
      { fin: false, opcode: 1, length: 300 },
      { fin: true, opcode: 0, length: 20 },
      { fin: true, opcode: 9, length: 0 },
    ]);
  });

  it('reports a frame as soon as its header arrives, before the payload', () => {
    expect(scan([frame(1, 40_000).subarray(0, 8)])).toEqual([{ fin: true, opcode: 1, length: 40_000 }]);
  });
});

describe('AWS-format values', () => {
  it('makes 16-character URL-safe base64 ids ending in =, like R1kmxc2VNjMCFIA=, unique past a pool refill', () => {
    const ids = Array.from({ length: 2000 }, () => newAwsId(defaultDeps));
    for (const id of ids) expect(id).toMatch(/^[A-Za-z0-9_-]{15}=$/);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('writes requestTime in CLF, UTC', () => {
    expect(clfTime(Date.UTC(2024, 0, 20, 11, 55, 0, 453))).toBe('20/Jan/2024:11:55:00 +0000');
    expect(clfTime(Date.UTC(2023, 11, 3, 4, 5, 6))).toBe('03/Dec/2023:04:05:06 +0000');
  });

  it('writes X-Amzn-Trace-Id as Root=1-<epoch hex>-<24 hex>', () => {
    const deps = { now: () => 1_705_751_700_453, randomBytes: defaultDeps.randomBytes };
    expect(newTraceId(deps)).toMatch(/^Root=1-65abb494-[0-9a-f]{24}$/);
  });

  it('frames gateway errors byte for byte as observed', () => {
    expect(gatewayFrame('Forbidden', 'R1kmxc2VNjMCFIA=', 'R1knPH17NjMFftw=')).toBe(
      '{"message": "Forbidden", "connectionId":"R1kmxc2VNjMCFIA=", "requestId":"R1knPH17NjMFftw="}',
    );
  });
});

describe('limits', () => {
  it("defaults to API Gateway's quotas", () => {
    expect(resolveLimits()).toEqual({
      idleTimeoutMs: 600_000,
      maxConnectionMs: 7_200_000,
      maxFrameBytes: 32_768,
      maxMessageBytes: 131_072,
      integrationTimeoutMs: 29_000,
    });
    expect(resolveLimits({ idleTimeoutMs: 200 })).toEqual({ ...AWS_LIMITS, idleTimeoutMs: 200 });
  });

  it('refuses a limit that is not a positive number', () => {
    expect(() => resolveLimits({ maxFrameBytes: 0 })).toThrow(
      new RangeError('gateway limit maxFrameBytes must be > 0, got 0'),
    );
  });
});

describe('authorizer policy', () => {
  const arn = 'arn:aws:execute-api:us-east-1:000000000000:api1/prod/$connect';
  const policy = (...Statement: { Effect: 'Allow' | 'Deny'; Action?: string; Resource?: string | string[] }[]) => ({
    principalId: 'me',
    policyDocument: { Version: '2012-10-17', Statement },
  });

  it('allows when an Allow covers execute-api:Invoke on the method ARN', () => {
    expect(allows(policy({ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: arn }), arn)).toBe(true);
    expect(
      allows(policy({ Effect: 'Allow', Action: 'execute-api:*', Resource: 'arn:aws:execute-api:*:*:api1/*' }), arn),
    ).toBe(true);
  });

  it('denies on an explicit Deny, even beside an Allow', () => {
    expect(allows(policy({ Effect: 'Deny', Action: 'execute-api:Invoke', Resource: arn }), arn)).toBe(false);
    const both = policy({ Effect: 'Allow', Resource: '*' }, { Effect: 'Deny', Resource: arn });
    expect(allows(both, arn)).toBe(false);
  });

  it('denies when the Allow names another resource', () => {
    expect(allows(policy({ Effect: 'Allow', Action: 'execute-api:Invoke', Resource: `${arn}x` }), arn)).toBe(false);
  });
});

describe('route responses', () => {
  it('sends the body of a proxy result, whatever its status', () => {
    expect(routeResponseFrame({ statusCode: 200, body: 'hi' })).toBe('hi');
    expect(routeResponseFrame({ statusCode: 400, body: '{"e":1}' })).toBe('{"e":1}');
  });

  it('sends nothing for a proxy result without a string body, or for null', () => {
    expect(routeResponseFrame({ statusCode: 200 })).toBeUndefined();
    expect(routeResponseFrame(null)).toBeUndefined();
    expect(routeResponseFrame(undefined)).toBeUndefined();
  });

  it('sends any other value as its JSON payload', () => {
    expect(routeResponseFrame('hello')).toBe('"hello"');
    expect(routeResponseFrame({ type: 'pong' })).toBe('{"type":"pong"}');
  });
});

describe('@connections paths and errors', () => {
  it('matches /{stage}/@connections/{id}, with %40 and an encoded id', () => {
    expect(matchPath('/prod/@connections/R1kmxc2VNjMCFIA%3D', 'prod')).toBe('R1kmxc2VNjMCFIA=');
    expect(matchPath('/prod/%40connections/abc', 'prod')).toBe('abc');
  });

  it('matches nothing else', () => {
    for (const path of [
      '/dev/@connections/abc',
      '/@connections/abc',
      '/prod/@connections/',
      '/prod/@connections/a/b',
      '/prod/x/abc',
    ]) {
      expect(matchPath(path, 'prod')).toBeUndefined();
    }
  });

  it('carries AWS name, HTTP status and message', () => {
    const cases: [GatewayError, string, number, string][] = [
      [new ForbiddenError(), 'ForbiddenException', 403, 'Forbidden'],
      [new GoneError('abc='), 'GoneException', 410, 'Connection abc= is gone'],
      [
        new PayloadTooLargeError(131_073, 131_072),
        'PayloadTooLargeException',
        413,
        'Message of 131073 bytes exceeds the 131072-byte limit',
      ],
    ];
    for (const [error, name, status, message] of cases) {
      expect(error).toBeInstanceOf(GatewayError);
      expect({ name: error.name, awsName: error.awsName, status: error.status, message: error.message }).toEqual({
        name,
        awsName: name,
        status,
        message,
      });
    }
  });
});

describe('mockResponse', () => {
  const responses = [
    { key: '$default', body: 'other' },
    { key: '/2\\d\\d/', body: 'ok' },
  ];
  it('picks the integration response whose /regex/ matches the whole status, else $default', () => {
    expect(mockResponse({ statusCode: 200, responses })).toEqual({ ok: true, body: 'ok' });
    expect(mockResponse({ statusCode: 404, responses })).toEqual({ ok: true, body: 'other' });
    expect(mockResponse({ statusCode: 2000, responses })).toEqual({ ok: true, body: 'other' });
  });
  it('fails as a configuration error with no status or no matching response', () => {
    expect(mockResponse({ statusCode: undefined, responses })).toEqual({ ok: false });
    expect(mockResponse({ statusCode: 500, responses: [{ key: '/2\\d\\d/', body: 'ok' }] })).toEqual({ ok: false });
  });
});
