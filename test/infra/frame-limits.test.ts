import { describe, expect, it } from 'vitest';
import { newSeq } from '../../functions/lib/ids.js';
import { positionOf } from '../../functions/lib/inbox.js';
import { jobFrame } from '../../functions/lib/jobs.js';
import { framesOf } from '../../functions/lib/push.js';
import { FRAME_ENVELOPE_BYTES, MAX_FRAME_BYTES, MAX_PAYLOAD_LIMIT } from '../../infra/frame-limits.js';
import { synthPostbox } from './helpers.js';

/** A payload whose JSON (what publish and enqueue measure) is exactly `bytes` long: a string of them. */
const payloadOf = (bytes: number) => 'x'.repeat(bytes - 2);

/** The widest sender a token allows: 128 characters that JSON writes as six bytes each. */
const widestClient = '\u0001'.repeat(128);

describe('payload limit: the largest accepted payload still fits a pushed frame', () => {
  it('lets a stack accept payloads up to 128 KB less the envelope, and not one byte more', () => {
    expect(MAX_PAYLOAD_LIMIT).toBe(MAX_FRAME_BYTES - FRAME_ENVELOPE_BYTES);
    expect(() => synthPostbox({ maxPayloadBytes: MAX_PAYLOAD_LIMIT })).not.toThrow();
    expect(() => synthPostbox({ maxPayloadBytes: MAX_PAYLOAD_LIMIT + 1 })).toThrow(/maxPayloadBytes must be 1–/);
  });

  it('pushes the largest payload from the widest sender on the longest topic as a message frame within 131072 bytes', () => {
    const message = {
      id: `k${'a'.repeat(32)}`,
      seq: positionOf(newSeq(), 99, 98),
      topic: 't'.repeat(128),
      from: widestClient,
      payload: payloadOf(MAX_PAYLOAD_LIMIT),
      publishedAt: new Date().toISOString(),
    };
    // The attempt count has no bound (connects and replays send again whatever it is).
    const frames = framesOf([{ message, attempt: 123_456_789 }]);
    expect(frames).toHaveLength(1);
    const frame = frames[0]?.frame ?? '';
    expect(JSON.parse(frame).type).toBe('message');
    expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
  });

  it('pushes the largest job payload on the longest queue name as a job frame within 131072 bytes', () => {
    const frame = JSON.stringify(
      jobFrame({
        queue: 'q'.repeat(128),
        key: 'j#x',
        id: `k${'a'.repeat(32)}`,
        status: 'leased',
        lease: 'l'.repeat(16),
        from: widestClient,
        payload: payloadOf(MAX_PAYLOAD_LIMIT),
        enqueuedAt: new Date().toISOString(),
        attempt: 1000,
        deadline: Date.now(),
        expiresAt: 0,
      }),
    );
    expect(Buffer.byteLength(frame)).toBeLessThanOrEqual(MAX_FRAME_BYTES);
  });

  it('would not fit with the old limit: a 131072-byte payload makes a frame API Gateway refuses', () => {
    const message = {
      id: newSeq(),
      seq: positionOf(newSeq(), 1, 0),
      topic: 'news',
      from: 'ana',
      payload: payloadOf(MAX_FRAME_BYTES),
      publishedAt: new Date().toISOString(),
    };
    const frame = framesOf([{ message, attempt: 1 }])[0]?.frame ?? '';
    expect(Buffer.byteLength(frame)).toBeGreaterThan(MAX_FRAME_BYTES);
  });
});
