import type { JobFrame, MessageFrame, MessagesFrame, ServerFrame } from '#protocol';
import { PostboxError } from './errors.js';
import { Emitter } from './events.js';
import { DIRECT, Inbox, type Message, type MessageHandler } from './inbox.js';
import { type ConsumeOptions, Consumer, type JobHandler } from './jobs.js';
import { Outbox } from './outbox.js';
import { type BackoffOptions, backoffDelay, type Clock, DEFAULT_BACKOFF, type Random, systemClock } from './timing.js';
import { type TokenOptions, TokenSource } from './token.js';

/** The part of the WebSocket API the SDK uses: the browser's, Node's global one and `ws` all have it. */
export interface WebSocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: never) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: never) => void) | null;
}
export type WebSocketConstructor = new (url: string) => WebSocketLike;

export type ConnectOptions = TokenOptions & {
  /** The WebSocket class; the entry point's (browser: native; Node: global, or `ws`) by default. */
  WebSocket?: WebSocketConstructor;
  clock?: Clock;
  /** Reconnect jitter. @default Math.random */
  random?: Random;
  backoff?: Partial<BackoffOptions>;
  /**
   * After this long without a frame sent, a heartbeat frame goes out: API Gateway closes a connection after 10
   * idle minutes, and only frames from the client count. @default 300000 (5 min)
   */
  heartbeatMs?: number;
  /** A request with no reply after this long means a dead connection: it is dropped and reconnected. @default 30000 */
  replyTimeoutMs?: number;
  /** A connection is replaced after this long, before API Gateway's 2-hour cap closes it. @default 6900000 (1 h 55 min) */
  maxConnectionMs?: number;
  /** Publishes, sends, enqueues and subscribes that may wait while disconnected; more are refused. @default 1000 */
  maxQueued?: number;
  /**
   * A page of the inbox seen in part (a push failed) with nothing more of it for this long is a gap: the client asks
   * for a catch-up (`replay`) rather than wait for the server's re-push (a second or more later, or only at the next
   * connect when the server has given up). Replays are spaced out: 1 s, doubling up to 30 s while gaps keep coming.
   * @default 500
   */
  gapMs?: number;
};

export type ClientState = 'connecting' | 'connected' | 'synced' | 'disconnected' | 'reconnecting' | 'closed';

export interface ClientEvents {
  connecting: { attempt: number };
  connected: { attempt: number };
  /** A catch-up ended: every message pending when it began has been handed on (or waits for its topic's handler). */
  synced: { count: number; dropped: number };
  disconnected: { code: number; reason: string };
  reconnecting: { attempt: number; delayMs: number };
  closed: Record<string, never>;
  /** Unsolicited server errors, handlers that threw, acks the server refused. */
  error: PostboxError;
}

type Incoming = ServerFrame | MessageFrame | MessagesFrame | JobFrame;

interface Request {
  frame: Record<string, unknown>;
  resolve(frame: ServerFrame): void;
  reject(error: PostboxError): void;
  /** Sent again on the next connection if this one ends before the reply. */
  resend: boolean;
  sent: boolean;
  timer?: unknown;
}

/** Close codes of connections the SDK ends itself (4000–4999 are the application's range). */
const CLOSE_NORMAL = 1000;
const CLOSE_NO_REPLY = 4000;
const ACK_BATCH = 100;
const ACK_DELAY_MS = 20;
const HEARTBEAT_REF = 'heartbeat';
const ACK_WAIT_MS = 2_000;
const CLOSE_WAIT_MS = 2_000;
/** Replays one after another are this far apart at least, doubling up to REPLAY_MAX_SPACING_MS. */
const REPLAY_SPACING_MS = 1_000;
const REPLAY_MAX_SPACING_MS = 30_000;

/** A Postbox connection that reconnects by itself; made by `connect()`. */
export class PostboxClient extends Emitter<ClientEvents> {
  #state: ClientState = 'connecting';
  #socket: WebSocketLike | undefined;
  #open = false;
  #paused = false;
  #attempt = 0;
  #immediate = false;
  #refs = 0;
  #lastSent = 0;
  #timers: {
    reconnect?: unknown;
    heartbeat?: unknown;
    maxAge?: unknown;
    acks?: unknown;
    publish?: unknown;
    gap?: unknown;
    alive?: unknown;
  } = {};
  /** When the last replay went out, and how long after it the next one may. */
  #replay = { at: Number.NEGATIVE_INFINITY, spacingMs: REPLAY_SPACING_MS };
  #closedSocket: (() => void) | undefined;
  readonly #requests = new Map<string, Request>();
  readonly #outbox = new Outbox();
  readonly #acks: string[] = [];
  /** Ack frames not yet answered, by ref, with their seqs: close() waits for them; a RateLimited one goes again. */
  readonly #acksInFlight = new Map<string, string[]>();
  #acksSettled: (() => void) | undefined;
  readonly #consumers = new Map<string, { consumer: Consumer; active: boolean }>();
  readonly #inbox: Inbox;
  readonly #tokens: TokenSource;
  readonly #clock: Clock;
  readonly #random: Random;
  readonly #backoff: BackoffOptions;
  readonly #heartbeatMs: number;
  readonly #replyTimeoutMs: number;
  readonly #maxConnectionMs: number;
  readonly #maxQueued: number;
  readonly #gapMs: number;

  constructor(
    private readonly url: string,
    options: ConnectOptions,
    private readonly webSocket: () => Promise<WebSocketConstructor>,
  ) {
    super();
    if (!/^wss?:\/\//.test(url)) throw new PostboxError('BadRequest', `url: must start with ws:// or wss:// (${url})`);
    this.#clock = options.clock ?? systemClock;
    this.#random = options.random ?? Math.random;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#heartbeatMs = options.heartbeatMs ?? 300_000;
    this.#replyTimeoutMs = options.replyTimeoutMs ?? 30_000;
    this.#maxConnectionMs = options.maxConnectionMs ?? 6_900_000;
    this.#maxQueued = options.maxQueued ?? 1000;
    this.#gapMs = options.gapMs ?? 500;
    this.#tokens = new TokenSource(options, this.#clock);
    this.#inbox = new Inbox({
      ack: (seq) => this.#queueAck(seq),
      failed: (message, error) => this.#report(handlerError(`handler of message ${message.id}`, error)),
      now: () => this.#clock.now(),
    });
    queueMicrotask(() => void this.#connect());
  }

  get state(): ClientState {
    return this.#state;
  }

  /** Resolves when the client is next `synced` (at once if it is). */
  synced(): Promise<void> {
    return this.#state === 'synced' ? Promise.resolve() : this.once('synced').then(() => {});
  }

  /**
   * Subscribes this client (durably, on the server) to `topic` and hands its messages to `handler`, one at a time,
   * in order, each id once. Install handlers right after `connect()`: messages of a topic without one wait, unacked.
   */
  async subscribe<T = unknown>(topic: string, handler: MessageHandler<T>): Promise<void> {
    this.#inbox.setHandler(topic, handler as MessageHandler<never>);
    try {
      await this.#request({ action: 'subscribe', topic }, true);
    } catch (error) {
      this.#inbox.setHandler(topic, undefined);
      throw error;
    }
  }

  async unsubscribe(topic: string): Promise<void> {
    await this.#request({ action: 'unsubscribe', topic }, true);
    this.#inbox.setHandler(topic, undefined);
  }

  /** Hands messages sent to this client with `send` (they have no topic) to `handler`, as `subscribe` does. */
  receive<T = unknown>(handler: MessageHandler<T>): void {
    this.#inbox.setHandler(DIRECT, handler as MessageHandler<never>);
  }

  /** Publishes to `topic`; resolves with the message id once the server has accepted it. */
  publish(topic: string, payload: unknown, options: { id?: string } = {}): Promise<string> {
    return this.#post('publish', topic, payload, options.id);
  }

  /** Sends to one client's inbox; resolves with the message id once the server has accepted it. */
  send(to: string, payload: unknown, options: { id?: string } = {}): Promise<string> {
    return this.#post('send', to, payload, options.id);
  }

  queue(name: string): QueueHandle {
    return new QueueHandle(this, name);
  }

  /** Closes the connection for now (publishes wait, up to `maxQueued`) until `resume()`. */
  pause(): void {
    if (this.#state === 'closed' || this.#paused) return;
    this.#paused = true;
    this.#clock.clearTimeout(this.#timers.reconnect);
    this.#drop(CLOSE_NORMAL, 'paused', false);
  }

  resume(): void {
    if (this.#state === 'closed' || !this.#paused) return;
    this.#paused = false;
    this.#attempt = 0;
    if (!this.#socket) void this.#connect();
  }

  /** Lets running handlers finish (≤ 2 s), sends the acks due, closes the connection and refuses whatever still waits, with `Closed`. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    // Handlers already given a message finish first (bounded), so their acks go out with this connection.
    await this.#within(this.#inbox.settled(), ACK_WAIT_MS);
    // Another close() may have finished meanwhile.
    if ((this.#state as ClientState) === 'closed') return;
    this.#flushAcks();
    this.#setState('closed');
    // The acks already sent are answered before the socket closes, so a client opened right after this one (the
    // same clientId) does not get those messages again; bounded, as a dead connection would never answer.
    if (this.#acksInFlight.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = this.#clock.setTimeout(resolve, ACK_WAIT_MS);
        this.#acksSettled = () => {
          this.#clock.clearTimeout(timer);
          resolve();
        };
      });
    }
    this.#clock.clearTimeout(this.#timers.reconnect);
    const socket = this.#socket;
    const closing = socket ? new Promise<void>((resolve) => (this.#closedSocket = resolve)) : undefined;
    socket?.close(CLOSE_NORMAL, 'client closed');
    // A dead path never answers the close frame: after a bound the connection is taken as ended.
    const timer = socket && this.#clock.setTimeout(() => this.#ended(socket, 1006, 'close timed out'), CLOSE_WAIT_MS);
    const error = new PostboxError('Closed', 'the client was closed');
    for (const request of this.#requests.values()) request.reject(error);
    this.#requests.clear();
    this.#outbox.rejectAll(error);
    await closing;
    this.#clock.clearTimeout(timer);
    this.emit('closed', {});
  }

  /** @internal used by QueueHandle */
  request(frame: Record<string, unknown>, resend: boolean): Promise<ServerFrame> {
    return this.#request(frame, resend);
  }

  /** @internal */
  consume(queue: string, handler: JobHandler<never>, prefetch: number): Promise<void> {
    const consumer = new Consumer(queue, handler, prefetch, {
      request: (frame) => this.#request(frame, false),
      failed: (job, error) => this.#report(handlerError(`handler of job ${job.id}`, error)),
      report: (error) => this.#report(error),
    });
    const entry = { consumer, active: false };
    this.#consumers.set(queue, entry);
    // Consuming belongs to a connection: after the first `consuming`, every new connection asks again (#opened).
    return this.#request({ action: 'consume', queue, prefetch }, true).then(() => {
      entry.active = true;
    });
  }

  /** @internal */
  async cancel(queue: string): Promise<void> {
    this.#consumers.delete(queue);
    await this.#request({ action: 'cancel', queue }, true);
  }

  async #connect(): Promise<void> {
    if (this.#state === 'closed' || this.#paused || this.#socket) return;
    const attempt = this.#attempt;
    if (attempt === 0 && this.#state === 'connecting') this.emit('connecting', { attempt });
    let socket: WebSocketLike;
    try {
      const [token, WebSocket] = await Promise.all([this.#tokens.current(), this.webSocket()]);
      // close() or pause() may have come while the token was fetched.
      if (this.#stopped()) return;
      const url = new URL(this.url);
      url.searchParams.set('token', token);
      socket = new WebSocket(url.toString());
    } catch (error) {
      this.#report(error instanceof PostboxError ? error : new PostboxError('Unauthorized', String(error)));
      this.#retry();
      return;
    }
    this.#socket = socket;
    socket.onopen = () => this.#opened(socket);
    socket.onmessage = (event) => this.#frame(String(event.data));
    socket.onclose = (event) => this.#ended(socket, event.code, event.reason);
    socket.onerror = () => {};
  }

  #opened(socket: WebSocketLike): void {
    if (socket !== this.#socket) return;
    this.#open = true;
    this.#lastSent = this.#clock.now();
    this.#inbox.connected();
    this.#setState('connected');
    this.emit('connected', { attempt: this.#attempt });
    this.#timers.maxAge = this.#clock.setTimeout(
      () => this.#drop(CLOSE_NORMAL, 'planned reconnect'),
      this.#maxConnectionMs,
    );
    this.#scheduleHeartbeat(this.#heartbeatMs);
    for (const [ref, request] of this.#requests) if (!request.sent) this.#sendRequest(ref, request);
    for (const [queue, { consumer, active }] of this.#consumers)
      if (active)
        this.#request({ action: 'consume', queue, prefetch: consumer.prefetch }, false).catch((e) => this.#report(e));
    this.#flushAcks();
    this.#pump();
  }

  #frame(text: string): void {
    this.#clock.clearTimeout(this.#timers.alive);
    this.#timers.alive = undefined;
    let frame: Incoming;
    try {
      frame = JSON.parse(text) as Incoming;
    } catch {
      this.#report(new PostboxError('BadFrame', `not JSON: ${text.slice(0, 100)}`));
      return;
    }
    switch (frame.type) {
      case 'message': {
        const { type: _type, ...message } = frame;
        this.#inbox.receive(message as Message);
        this.#watchGaps();
        return;
      }
      case 'messages':
        for (const item of frame.items) this.#inbox.receive(item as Message);
        this.#watchGaps();
        return;
      case 'job': {
        const entry = this.#consumers.get(frame.queue);
        if (entry) entry.consumer.receive(frame);
        return;
      }
      case 'heartbeat':
        // Its work (a frame arrived) is done above.
        return;
      case 'synced':
        this.#inbox.synced();
        this.#watchGaps();
        this.#attempt = 0;
        if (this.#state === 'connected') this.#setState('synced');
        this.emit('synced', { count: frame.count, dropped: frame.dropped ?? 0 });
        break;
    }
    // A stack without the heartbeat route refused it: the frame still proved the path alive, and is no app error.
    if (frame.ref === HEARTBEAT_REF) return;
    const acked = frame.ref === undefined ? undefined : this.#acksInFlight.get(frame.ref);
    if (acked && frame.ref !== undefined) {
      this.#acksInFlight.delete(frame.ref);
      // Refused for the connection's frame rate: the same seqs go again after the hint, not as an error for the
      // app, and not left to the server's re-push (which would cost more frames than the ack).
      if (frame.type === 'error' && frame.code === 'RateLimited' && this.#state !== 'closed')
        this.#ackLater(acked, frame.retryAfterMs);
      else if (frame.type === 'error') this.#report(PostboxError.fromFrame(frame));
      if (this.#acksInFlight.size === 0) this.#acksSettled?.();
      return;
    }
    if (this.#outbox.answer(frame)) {
      this.#clock.clearTimeout(this.#timers.publish);
      this.#pump();
      return;
    }
    const request = frame.ref === undefined ? undefined : this.#requests.get(frame.ref);
    if (request && frame.ref !== undefined) {
      this.#requests.delete(frame.ref);
      this.#clock.clearTimeout(request.timer);
      if (frame.type === 'error') request.reject(PostboxError.fromFrame(frame));
      else request.resolve(frame);
    } else if (frame.type === 'error') {
      this.#report(PostboxError.fromFrame(frame));
    }
  }

  #ended(socket: WebSocketLike, code: number, reason: string): void {
    if (socket !== this.#socket) return;
    socket.onopen = socket.onmessage = socket.onclose = null;
    const wasOpen = this.#open;
    this.#socket = undefined;
    this.#open = false;
    for (const name of ['heartbeat', 'maxAge', 'acks', 'publish', 'gap', 'alive'] as const)
      this.#clock.clearTimeout(this.#timers[name]);
    this.#timers.acks = undefined;
    this.#timers.gap = undefined;
    this.#timers.alive = undefined;
    this.#acksInFlight.clear();
    this.#acksSettled?.();
    // A connection that never opened may have been refused for its token (browsers hide the 401).
    if (!wasOpen) this.#tokens.refused();
    const lost = new PostboxError('Disconnected', `connection closed (${code}) before the reply`, { closeCode: code });
    for (const [ref, request] of this.#requests) {
      this.#clock.clearTimeout(request.timer);
      if (request.resend) request.sent = false;
      else {
        this.#requests.delete(ref);
        request.reject(lost);
      }
    }
    this.#outbox.requeue();
    for (const { consumer } of this.#consumers.values()) consumer.disconnected();
    if (this.#state === 'closed') {
      this.#closedSocket?.();
      return;
    }
    if (wasOpen || this.#paused) {
      this.#setState('disconnected');
      this.emit('disconnected', { code, reason });
    }
    if (!this.#paused) this.#retry();
  }

  #retry(): void {
    if (this.#state === 'closed' || this.#paused) return;
    this.#attempt += 1;
    const delayMs = this.#immediate ? 0 : backoffDelay(this.#attempt, this.#backoff, this.#random);
    this.#immediate = false;
    this.#setState('reconnecting');
    this.emit('reconnecting', { attempt: this.#attempt, delayMs });
    this.#timers.reconnect = this.#clock.setTimeout(() => void this.#connect(), delayMs);
  }

  /** Ends the connection now, without waiting for a close handshake a dead peer would never answer. */
  #drop(code: number, reason: string, immediate = true): void {
    const socket = this.#socket;
    if (!socket) return;
    this.#immediate = immediate;
    try {
      socket.close(code, reason);
    } catch {
      // already closing
    }
    this.#ended(socket, code, reason);
  }

  #request(frame: Record<string, unknown>, resend: boolean): Promise<ServerFrame> {
    if (this.#state === 'closed') return Promise.reject(new PostboxError('Closed', 'the client is closed'));
    if (!this.#open && !resend)
      return Promise.reject(new PostboxError('Disconnected', 'not connected: a lease ends with its connection'));
    if (!this.#open && this.#queued() >= this.#maxQueued) return Promise.reject(queueFull(this.#maxQueued));
    return new Promise((resolve, reject) => {
      const ref = `r${++this.#refs}`;
      const request: Request = { frame, resolve, reject, resend, sent: false };
      this.#requests.set(ref, request);
      if (this.#open) this.#sendRequest(ref, request);
    });
  }

  #sendRequest(ref: string, request: Request): void {
    request.sent = true;
    request.timer = this.#clock.setTimeout(() => this.#drop(CLOSE_NO_REPLY, 'no reply', false), this.#replyTimeoutMs);
    this.#write({ ...request.frame, ref });
  }

  #post(action: 'publish' | 'send', target: string, payload: unknown, id: string | undefined): Promise<string> {
    if (this.#state === 'closed') return Promise.reject(new PostboxError('Closed', 'the client is closed'));
    if (!this.#open && this.#queued() >= this.#maxQueued) return Promise.reject(queueFull(this.#maxQueued));
    const bytes = JSON.stringify(payload ?? null).length;
    return new Promise((resolve, reject) => {
      this.#outbox.push({ action, target, payload, id: id ?? newKey(), bytes, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    if (!this.#open) return;
    const ref = `p${this.#refs + 1}`;
    const frame = this.#outbox.next(ref);
    if (!frame) return;
    this.#refs += 1;
    // A publish with no reply is handled as a dead connection, like any request (its keys make the resend safe).
    this.#timers.publish = this.#clock.setTimeout(
      () => this.#drop(CLOSE_NO_REPLY, 'no reply', false),
      this.#replyTimeoutMs,
    );
    this.#write(frame);
  }

  #queued(): number {
    return this.#outbox.size + this.#requests.size;
  }

  #queueAck(seq: string): void {
    this.#acks.push(seq);
    if (this.#acks.length >= ACK_BATCH) this.#flushAcks();
    else if (this.#timers.acks === undefined)
      this.#timers.acks = this.#clock.setTimeout(() => this.#flushAcks(), ACK_DELAY_MS);
  }

  #flushAcks(): void {
    this.#clock.clearTimeout(this.#timers.acks);
    this.#timers.acks = undefined;
    // Acks are by seq, for the client and not the connection: those made offline go out on the next one.
    while (this.#open && this.#acks.length > 0) {
      const ref = `a${++this.#refs}`;
      const seqs = this.#acks.splice(0, ACK_BATCH);
      this.#acksInFlight.set(ref, seqs);
      this.#write({ action: 'ack', seqs, ref });
    }
  }

  /** Puts refused acks back, first, and sends them when the server's hint says the connection has room again. */
  #ackLater(seqs: string[], retryAfterMs = ACK_DELAY_MS): void {
    this.#acks.unshift(...seqs);
    this.#clock.clearTimeout(this.#timers.acks);
    this.#timers.acks = this.#clock.setTimeout(() => this.#flushAcks(), Math.max(retryAfterMs, ACK_DELAY_MS));
  }

  /** Arms the gap timer while a page is missing messages: when it has stalled for gapMs, a replay fills it. */
  #watchGaps(): void {
    const since = this.#inbox.stalledSince();
    if (since === undefined || !this.#open) {
      this.#clock.clearTimeout(this.#timers.gap);
      this.#timers.gap = undefined;
      return;
    }
    if (this.#timers.gap !== undefined) return;
    const now = this.#clock.now();
    const due = Math.max(since + this.#gapMs, this.#replay.at + this.#replay.spacingMs);
    this.#timers.gap = this.#clock.setTimeout(() => {
      this.#timers.gap = undefined;
      const stalled = this.#inbox.stalledSince();
      if (stalled !== undefined && this.#clock.now() - stalled >= this.#gapMs && this.#open) this.#replayNow();
      else this.#watchGaps();
    }, due - now);
  }

  /**
   * Asks for a catch-up: the server sends every pending message, then `synced`; the inbox holds what arrives until
   * then and hands it on in order, each id once (what the server re-pushes meanwhile is a duplicate, dropped).
   */
  #replayNow(): void {
    const now = this.#clock.now();
    // Gaps that keep coming (a path that loses frames) get ever fewer replays: each is a full catch-up.
    const streak = now - this.#replay.at < REPLAY_MAX_SPACING_MS * 2;
    this.#replay = {
      at: now,
      spacingMs: streak ? Math.min(REPLAY_MAX_SPACING_MS, this.#replay.spacingMs * 2) : REPLAY_SPACING_MS,
    };
    this.#inbox.replaying();
    this.#request({ action: 'replay' }, false).catch((error: unknown) => {
      // A connection that ended takes its replay with it: the next connect's catch-up does the same work.
      if (error instanceof PostboxError && (error.code === 'Disconnected' || error.code === 'Closed')) return;
      this.#inbox.release();
      this.#report(error);
      this.#watchGaps();
    });
  }

  #scheduleHeartbeat(ms: number): void {
    this.#timers.heartbeat = this.#clock.setTimeout(() => {
      const idle = this.#clock.now() - this.#lastSent;
      if (idle >= this.#heartbeatMs) {
        // API Gateway answers it by itself ({"type":"heartbeat"}, a MOCK route: no Lambda), without a ref, which a
        // MOCK integration cannot see. Any frame proves the path alive; none within replyTimeoutMs drops it. The
        // ref is for a stack deployed before the route: its $default answers UnknownAction with it.
        this.#write({ action: 'heartbeat', ref: HEARTBEAT_REF });
        this.#timers.alive ??= this.#clock.setTimeout(
          () => this.#drop(CLOSE_NO_REPLY, 'no reply', false),
          this.#replyTimeoutMs,
        );
        this.#scheduleHeartbeat(this.#heartbeatMs);
      } else this.#scheduleHeartbeat(this.#heartbeatMs - idle);
    }, ms);
  }

  #write(frame: Record<string, unknown>): void {
    this.#lastSent = this.#clock.now();
    this.#socket?.send(JSON.stringify(frame));
  }

  #within(promise: Promise<void>, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(resolve, ms);
      void promise.then(() => {
        this.#clock.clearTimeout(timer);
        resolve();
      });
    });
  }

  #stopped(): boolean {
    return this.#state === 'closed' || this.#paused;
  }

  #setState(state: ClientState): void {
    this.#state = state;
  }

  #report(error: unknown): void {
    this.emit('error', error instanceof PostboxError ? error : new PostboxError('Internal', String(error)));
  }
}

/** A work queue, for enqueueing and consuming. */
export class QueueHandle {
  constructor(
    private readonly client: PostboxClient,
    readonly name: string,
  ) {}

  /** Stores a job; resolves with its id. Without `id` one is made, so a resend after a reconnect makes one job. */
  async enqueue(payload: unknown, options: { id?: string; delaySeconds?: number } = {}): Promise<string> {
    const frame = { action: 'enqueue', queue: this.name, payload, id: options.id ?? newKey(), ...delayOf(options) };
    const reply = await this.client.request(frame, true);
    if (reply.type !== 'accepted' || !('id' in reply)) throw new PostboxError('Internal', `unexpected ${reply.type}`);
    return reply.id;
  }

  /**
   * Takes up to `prefetch` jobs at a time on this connection (and every later one) and runs `handler` for each;
   * resolving completes the job, throwing gives it back after 1, 2, 4 … s (up to 900).
   */
  consume<T = unknown>(handler: JobHandler<T>, options: ConsumeOptions = {}): Promise<void> {
    return this.client.consume(this.name, handler as JobHandler<never>, options.prefetch ?? 1);
  }

  /** No more jobs; those running finish and are acked as usual. */
  cancel(): Promise<void> {
    return this.client.cancel(this.name);
  }
}

function delayOf(options: { delaySeconds?: number }): { delaySeconds?: number } {
  return options.delaySeconds === undefined ? {} : { delaySeconds: options.delaySeconds };
}

function queueFull(max: number): PostboxError {
  return new PostboxError('OfflineQueueFull', `not connected, and ${max} requests already wait (maxQueued)`);
}

function handlerError(what: string, error: unknown): PostboxError {
  return new PostboxError(
    'HandlerFailed',
    `${what} failed: ${error instanceof Error ? error.message : String(error)}`,
    {
      cause: error,
    },
  );
}

/** An idempotency key: 128 random bits as hex (crypto.getRandomValues works in every context, secure or not). */
function newKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}
