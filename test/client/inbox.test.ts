import { describe, expect, it } from 'vitest';
import { Inbox, type Message } from '../../client/inbox.js';

// The SDK's exactly-once-in-order layer alone, fed frames as a connection would, with no server.
function message(id: string, seq: string, topic = 't'): Message {
  return { id, seq, topic, from: 'alice', payload: id, publishedAt: '2026-12-03T12:00:00.000Z', attempt: 1 };
}

function inbox() {
  const acks: string[] = [];
  const failures: string[] = [];
  const handled: string[] = [];
  const box = new Inbox({ ack: (seq) => acks.push(seq), failed: (m) => failures.push(m.id) });
  return { box, acks, failures, handled };
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe('Inbox', () => {
  it('holds frames until synced, then hands them on by seq, each id once, and acks each', async () => {
    const { box, acks, handled } = inbox();
    box.setHandler('t', (m) => {
      handled.push(m.id);
    });
    box.connected();
    // A live push (c) arrives before the catch-up's older messages, and b arrives twice.
    box.receive(message('c', 'P3.01.00'));
    box.receive(message('a', 'P1.01.00'));
    box.receive(message('b', 'P2.01.00'));
    box.receive(message('b', 'P2.01.00'));
    await settle();
    expect(handled).toEqual([]);
    box.synced();
    await settle();
    expect(handled).toEqual(['a', 'b', 'c']);
    expect(acks).toEqual(['P1.01.00', 'P2.01.00', 'P3.01.00']);

    // After a reconnect the catch-up brings a again (its ack was lost): acked again, not handed on.
    box.connected();
    box.receive(message('a', 'P1.01.00'));
    box.receive(message('d', 'P4.01.00'));
    box.synced();
    await settle();
    expect(handled).toEqual(['a', 'b', 'c', 'd']);
    expect(acks.slice(3)).toEqual(['P1.01.00', 'P4.01.00']);
  });

  it('does not ack a message whose handler threw, and hands it on again when it comes again', async () => {
    const { box, acks, failures, handled } = inbox();
    let calls = 0;
    box.setHandler('t', (m) => {
      calls += 1;
      if (calls === 1) throw new Error('no');
      handled.push(m.id);
    });
    box.synced();
    box.receive(message('a', 'P1.01.00'));
    await settle();
    expect({ failures, acks, handled }).toEqual({ failures: ['a'], acks: [], handled: [] });
    box.receive(message('a', 'P1.01.00'));
    await settle();
    expect({ acks, handled }).toEqual({ acks: ['P1.01.00'], handled: ['a'] });
  });

  it('keeps messages of a topic with no handler, unacked, until one is installed', async () => {
    const { box, acks, handled } = inbox();
    box.synced();
    box.receive(message('a', 'P1.01.00', 'later'));
    await settle();
    expect(acks).toEqual([]);
    box.setHandler('later', (m) => {
      handled.push(m.id);
    });
    await settle();
    expect({ acks, handled }).toEqual({ acks: ['P1.01.00'], handled: ['a'] });
  });
});

describe('Inbox gaps', () => {
  // Three messages of one page, P: a push that fails after P.03.00 leaves the page seen in part.
  function gapped() {
    let now = 0;
    const handled: string[] = [];
    const box = new Inbox({ ack: () => {}, failed: () => {}, now: () => now });
    box.setHandler('t', (m) => {
      handled.push(m.id);
    });
    box.synced();
    return { box, handled, tick: (ms: number) => (now += ms) };
  }

  it('holds a later message of the publisher behind a missing one, and hands both on in order once it comes', async () => {
    const { box, handled, tick } = gapped();
    box.receive(message('a', 'P.03.00'));
    tick(100);
    box.receive(message('c', 'P.03.02'));
    box.receive(message('d', 'Q.01.00'));
    await settle();
    expect(handled).toEqual(['a']);
    expect(box.stalledSince()).toBe(100);
    box.receive(message('b', 'P.03.01'));
    await settle();
    expect(handled).toEqual(['a', 'b', 'c', 'd']);
    expect(box.stalledSince()).toBeUndefined();
  });

  it('lets another publisher through a gap: the server orders messages per publisher only', async () => {
    const { box, handled } = gapped();
    box.receive(message('a', 'P.03.00'));
    box.receive({ ...message('x', 'R.01.00'), from: 'carol' });
    await settle();
    expect(handled).toEqual(['a', 'x']);
    expect(box.stalledSince()).toBe(0);
  });

  it('takes a replay’s synced as the end of every gap, and hands on what it brought in order, each id once', async () => {
    const { box, handled } = gapped();
    box.receive(message('a', 'P.03.00'));
    box.receive(message('d', 'Q.01.00'));
    box.replaying();
    expect(box.holding).toBe(true);
    expect(box.stalledSince()).toBeUndefined();
    // The replay sends everything pending (a again, b), and P.03.02 was acked before: it does not come.
    box.receive(message('a', 'P.03.00'));
    box.receive(message('b', 'P.03.01'));
    box.receive(message('d', 'Q.01.00'));
    box.synced();
    await settle();
    expect(handled).toEqual(['a', 'b', 'd']);
    expect(box.stalledSince()).toBeUndefined();
    // A re-push of the page later (the server's own check) opens no gap again.
    box.receive(message('b', 'P.03.01'));
    expect(box.stalledSince()).toBeUndefined();
  });

  it('counts a page still arriving as progress, not as a stalled gap', () => {
    const { box, tick } = gapped();
    box.receive(message('a', 'P.03.00'));
    tick(300);
    box.receive(message('b', 'P.03.01'));
    expect(box.stalledSince()).toBe(300);
    box.receive(message('c', 'P.03.02'));
    expect(box.stalledSince()).toBeUndefined();
  });
});
