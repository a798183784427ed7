import { decodeTime, isValid } from 'ulid';
import { describe, expect, it } from 'vitest';
import { messageIdFor, newSeq } from '../../functions/lib/ids.js';
import { groupOf } from '../../functions/lib/queue.js';

describe('message ids', () => {
  it('are valid ULIDs carrying their time, unique and increasing even within one millisecond', () => {
    const now = Date.now();
    const ids = Array.from({ length: 5000 }, (_, i) => newSeq(now + Math.floor(i / 100)));
    for (const id of ids.slice(0, 50)) expect(isValid(id)).toBe(true);
    expect(decodeTime(ids[0] as string)).toBe(now);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
  });

  it('draw fresh randomness for each new millisecond', () => {
    const randomParts = new Set(Array.from({ length: 300 }, (_, i) => newSeq(1_800_000_000_000 + i * 1000).slice(10)));
    expect(randomParts.size).toBe(300);
  });

  it('derive the same id from the same publisher and key, and different ids across publishers', () => {
    const seq = newSeq();
    expect(messageIdFor('vendor-1', 'order-7', seq)).toBe(messageIdFor('vendor-1', 'order-7', newSeq()));
    expect(messageIdFor('vendor-1', 'order-7', seq)).not.toBe(messageIdFor('vendor-2', 'order-7', seq));
    expect(messageIdFor('vendor-1', undefined, seq)).toBe(seq);
  });
});

describe('message groups', () => {
  it('gives any clientId a group id SQS accepts (≤ 128 ASCII letters, digits, punctuation), one per publisher', () => {
    const ids = ['driver 7', 'élodie', 'x'.repeat(129), 'vendor-1', ''];
    const groups = ids.map(groupOf);
    for (const group of groups) expect(group).toMatch(/^[!-~]{1,128}$/);
    expect(new Set(groups).size).toBe(ids.length);
    expect(groupOf('driver 7')).toBe(groups[0]);
  });
});
