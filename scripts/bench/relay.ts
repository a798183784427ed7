import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';

/** A running reference relay: where clients connect and how to stop it. */
export interface Relay {
  url(clientId: string): string;
  stop(): Promise<void>;
}

interface Frame {
  action?: unknown;
  topic?: unknown;
  payload?: unknown;
  messages?: unknown;
  ids?: unknown;
  id?: unknown;
  seqs?: unknown;
  ref?: unknown;
}

/**
 * The baseline Postbox is compared with: a plain `ws` hub on loopback that speaks the same frames (subscribe,
 * publish → accepted, message, ack → acked) but keeps nothing — what a hand-rolled WebSocket hub does. A message
 * reaches whoever is subscribed at that instant; ack is answered and ignored.
 */
export async function startRelay(): Promise<Relay> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const topics = new Map<string, Set<WebSocket>>();
  let next = 0;

  server.on('connection', (socket, request) => {
    const clientId = new URL(request.url ?? '/', 'ws://relay').searchParams.get('client') ?? 'anonymous';
    socket.on('message', (data) => {
      let frame: Frame;
      try {
        frame = JSON.parse(String(data)) as Frame;
      } catch {
        socket.send(JSON.stringify({ type: 'error', code: 'BadRequest', message: 'not JSON' }));
        return;
      }
      const ref = typeof frame.ref === 'string' ? { ref: frame.ref } : {};
      const topic = String(frame.topic ?? '');
      if (frame.action === 'subscribe') {
        const members = topics.get(topic) ?? new Set<WebSocket>();
        members.add(socket);
        topics.set(topic, members);
        socket.send(JSON.stringify({ type: 'subscribed', topic, ...ref }));
      } else if (frame.action === 'publish') {
        const payloads = Array.isArray(frame.messages)
          ? (frame.messages as { payload: unknown }[]).map((m) => m.payload)
          : [frame.payload];
        const ids = payloads.map(() => `relay-${(next++).toString(36).padStart(8, '0')}`);
        const reply = Array.isArray(frame.messages) ? { ids } : { id: ids[0] };
        socket.send(JSON.stringify({ type: 'accepted', ...reply, ...ref }));
        payloads.forEach((payload, i) => {
          const message = JSON.stringify({
            type: 'message',
            id: ids[i],
            // The same shape as Postbox's frames: the bench client acks by seq.
            seq: ids[i],
            topic,
            from: clientId,
            payload,
            publishedAt: new Date().toISOString(),
            attempt: 1,
          });
          for (const member of topics.get(topic) ?? []) member.send(message);
        });
      } else if (frame.action === 'ack') {
        const ids = Array.isArray(frame.ids) ? frame.ids : frame.id === undefined ? [] : [frame.id];
        const seqs = Array.isArray(frame.seqs) ? { seqs: frame.seqs } : {};
        socket.send(JSON.stringify({ type: 'acked', ids, ...seqs, ...ref }));
      } else {
        socket.send(JSON.stringify({ type: 'error', code: 'UnknownAction', message: 'unknown action', ...ref }));
      }
    });
    socket.on('close', () => {
      for (const members of topics.values()) members.delete(socket);
    });
  });

  const { port } = server.address() as AddressInfo;
  return {
    url: (clientId) => `ws://127.0.0.1:${port}/?client=${encodeURIComponent(clientId)}`,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        for (const socket of server.clients) socket.terminate();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
