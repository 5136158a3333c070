// The nodes of a cluster tell each other what they cannot see in the database fast enough:
// "run X was asked to stop", "a run is due soon", "a key was revoked", and the live events that
// a dashboard or a log follower connected to another node wants to see. Everything here is a
// hint on the store's signals (PostgreSQL LISTEN/NOTIFY): a lost message costs time, never
// correctness, because the database stays the truth (holders poll their cancel requests, the
// claim loop polls, the auth cache expires within a second, a log follower re-reads the store).
//
// Live events are relayed only while another node asked for them: a node with SSE clients or log
// followers says so (`interest`) every few seconds, and the others relay while that is fresh. At
// 100,000 runs a minute, relaying every transition to nodes nobody watches would be ~5,000
// messages a second through the database for nothing.

import type { Clock } from '../core/clock.js';
import { coerceError } from '../core/errors.js';
import type { EventBus, SundialEvents } from '../core/events.js';
import type { Millis } from '../core/types.js';
import type { StoreSignals } from '../store/store.js';

/** Largest payload sent in one message (PostgreSQL refuses 8,000 bytes and more). */
const MAX_PAYLOAD_BYTES = 7000;
/** How often relayed events are sent in one batch (ms). */
const RELAY_EVERY_MS = 25;
/** How often this node checks for (and repeats) its own interest (ms). */
const INTEREST_CHECK_MS = 500;
/** How often interest is repeated while it lasts (ms). */
const INTEREST_REPEAT_MS = 2000;
/** How long an `interest` message keeps the relay on (ms). */
const INTEREST_TTL_MS = 6000;
/** Wake-ups are coalesced: at most one message per this many ms. */
const WAKE_EVERY_MS = 50;

const TOPIC = { cancel: 'cancel', wake: 'wake', keys: 'keys', interest: 'interest', events: 'events' } as const;

/** One relayed event: [kind, payload]. */
type Relayed =
  | ['t', SundialEvents['run:transition']]
  | ['l', SundialEvents['run:logs']]
  | ['k', SundialEvents['task:changed']];

export interface SignalBridgeDeps {
  signals: StoreSignals;
  bus: EventBus;
  clock: Clock;
  /** Another node asks the holder of `runId` to stop it. */
  onCancel: (runId: string) => void;
  /** Another node created or moved a run due at `dueAt`. */
  onWake: (dueAt: Millis) => void;
  /** Another node revoked the key with this id. */
  onKeyRevoked: (id: string) => void;
  /** Reports a failure to send (best effort: it is also logged). */
  onError?: (err: Error) => void;
}

/** Relays hints and live events between the nodes of one database. */
export class SignalBridge {
  readonly #d: SignalBridgeDeps;
  #off: (() => void)[] = [];
  #peersWantEventsUntil = 0;
  #outbox: Relayed[] = [];
  #relayTimer: NodeJS.Timeout | null = null;
  #interestTimer: NodeJS.Timeout | null = null;
  #interestSentAt = 0;
  #wakeAt: Millis | null = null;
  #wakeTimer: NodeJS.Timeout | null = null;

  constructor(deps: SignalBridgeDeps) {
    this.#d = deps;
  }

  /** Starts listening and relaying. */
  start(): void {
    const { bus, signals } = this.#d;
    this.#off = [
      signals.subscribe((topic, payload) => this.#receive(topic, payload)),
      bus.on('run:transition', (t) => this.#relay(['t', t])),
      bus.on('run:logs', (e) => this.#relay(['l', e])),
      bus.on('task:changed', (e) => this.#relay(['k', e])),
      bus.on('api-key:revoked', (e) => this.#send(TOPIC.keys, e.id)),
    ];
    this.#interestTimer = setInterval(() => this.#announceInterest(), INTEREST_CHECK_MS);
    this.#interestTimer.unref();
  }

  /** Stops listening; events not yet relayed are dropped (they are hints). */
  stop(): void {
    for (const off of this.#off) off();
    this.#off = [];
    for (const t of [this.#relayTimer, this.#interestTimer, this.#wakeTimer]) if (t) clearTimeout(t);
    this.#relayTimer = this.#interestTimer = this.#wakeTimer = null;
    this.#outbox = [];
  }

  /** Asks whichever node holds these runs to stop them now (it would see it at its next poll). */
  cancel(runIds: readonly string[]): void {
    for (const chunk of chunks(runIds.map((id) => JSON.stringify(id)), MAX_PAYLOAD_BYTES)) {
      this.#send(TOPIC.cancel, `[${chunk.join(',')}]`);
    }
  }

  /** Tells the other nodes a run is due at `dueAt` (coalesced: one message per 50 ms at most). */
  wake(dueAt: Millis): void {
    this.#wakeAt = this.#wakeAt === null ? dueAt : Math.min(this.#wakeAt, dueAt);
    if (this.#wakeTimer !== null) return;
    this.#wakeTimer = setTimeout(() => {
      this.#wakeTimer = null;
      const at = this.#wakeAt;
      this.#wakeAt = null;
      if (at !== null) this.#send(TOPIC.wake, String(at));
    }, WAKE_EVERY_MS);
    this.#wakeTimer.unref();
  }

  #receive(topic: string, payload: string): void {
    try {
      switch (topic) {
        case TOPIC.cancel:
          for (const id of JSON.parse(payload) as string[]) this.#d.onCancel(id);
          return;
        case TOPIC.wake:
          this.#d.onWake(Number(payload));
          return;
        case TOPIC.keys:
          this.#d.onKeyRevoked(payload);
          return;
        case TOPIC.interest:
          this.#peersWantEventsUntil = this.#d.clock.now() + INTEREST_TTL_MS;
          return;
        case TOPIC.events:
          for (const e of JSON.parse(payload) as Relayed[]) this.#emitRemote(e);
          return;
      }
    } catch (err) {
      this.#d.onError?.(coerceError(err));
    }
  }

  #emitRemote(e: Relayed): void {
    const { bus } = this.#d;
    if (e[0] === 't') bus.emit('cluster:run:transition', e[1]);
    else if (e[0] === 'l') bus.emit('cluster:run:logs', e[1]);
    else bus.emit('cluster:task:changed', e[1]);
  }

  /** Says "relay to me" while someone here listens to other nodes' events. */
  #announceInterest(): void {
    const { bus, clock } = this.#d;
    const listening = bus.has('cluster:run:transition') || bus.has('cluster:run:logs') || bus.has('cluster:task:changed');
    if (!listening) {
      this.#interestSentAt = 0;
      return;
    }
    const now = clock.now();
    if (now - this.#interestSentAt < INTEREST_REPEAT_MS) return;
    this.#interestSentAt = now;
    this.#send(TOPIC.interest, '');
  }

  #relay(e: Relayed): void {
    if (this.#d.clock.now() > this.#peersWantEventsUntil) return;
    this.#outbox.push(e);
    if (this.#relayTimer !== null) return;
    this.#relayTimer = setTimeout(() => this.#flushRelay(), RELAY_EVERY_MS);
    this.#relayTimer.unref();
  }

  #flushRelay(): void {
    this.#relayTimer = null;
    const batch = this.#outbox;
    this.#outbox = [];
    const encoded: string[] = [];
    for (const e of batch) {
      const text = JSON.stringify(e);
      if (Buffer.byteLength(text) <= MAX_PAYLOAD_BYTES - 2) encoded.push(text);
      else encoded.push(...shrink(e));
    }
    for (const chunk of chunks(encoded, MAX_PAYLOAD_BYTES)) this.#send(TOPIC.events, `[${chunk.join(',')}]`);
  }

  #send(topic: string, payload: string): void {
    this.#d.signals.publish(topic, payload).catch((err: unknown) => this.#d.onError?.(coerceError(err)));
  }
}

/**
 * An event too large for one message, made to fit: log lines go one by one (a line longer than a
 * message is cut; the follower gets the whole line from the store at the run's end), a task
 * change goes without its spec and payload (the dashboard re-reads the task).
 */
function shrink(e: Relayed): string[] {
  const budget = MAX_PAYLOAD_BYTES - 400;
  if (e[0] === 'l') {
    return e[1].lines.map((line, i) => {
      const message = Buffer.byteLength(line.message) > budget ? `${line.message.slice(0, budget / 4)} … [cut in transit]` : line.message;
      return JSON.stringify(['l', { ...e[1], fromSeq: e[1].fromSeq + i, lines: [{ ...line, message }] }]);
    });
  }
  if (e[0] === 'k') {
    const text = JSON.stringify(['k', { ...e[1], task: { ...e[1].task, spec: {}, payload: null, description: null } }]);
    return Buffer.byteLength(text) <= budget ? [text] : [];
  }
  return [];
}

/** Groups JSON texts into arrays whose joined size stays under `max` bytes. */
function chunks(items: readonly string[], max: number): string[][] {
  const out: string[][] = [];
  let cur: string[] = [];
  let size = 2;
  for (const item of items) {
    const n = Buffer.byteLength(item) + 1;
    if (cur.length > 0 && size + n > max) {
      out.push(cur);
      cur = [];
      size = 2;
    }
    cur.push(item);
    size += n;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
