/**
 * A single-producer, single-consumer ring of byte records in a SharedArrayBuffer: how the event
 * loop and the session-crypto thread hand each other batches without a MessagePort.
 *
 * Why: on the machines here a MessagePort round trip costs ~90 µs of CPU (serialization, the
 * port's lock, a wake-up and the JS event dispatch on each side), against ~55 µs for the same
 * round trip through a ring (measured with scratch ping-pong; docs/server.md). A send that
 * crosses to the thread pays one round trip per batch.
 *
 * Layout: an Int32Array header, then `capacity` data bytes. Each record is a 4-byte length
 * then its bytes, padded to 4; a length of -1 means "continue at offset 0" (the record did not
 * fit before the end). `head` is written only by the producer, `tail` only by the consumer; one
 * gap of at least 4 bytes always separates them, so `head === tail` means empty. `published`
 * counts records written and `consumed` records read; the other side waits on them (Atomics.wait
 * on a thread, Atomics.waitAsync on the event loop). Atomics loads and stores of head and tail
 * order the data bytes around them.
 *
 * Waking: a consumer that waits to be woken says so in `sleeping` first, and only then does a
 * write call Atomics.notify. Waking a sleeping thread costs the writer ~20 µs here (a futex wake
 * and an inter-processor interrupt on a VM), so a consumer that expects more work soon polls
 * instead (`pollForRecord`: a short timed wait the writer does not have to end). The store of
 * `sleeping` and the load of `published` on one side, and the add to `published` and the load of
 * `sleeping` on the other, are sequentially consistent, so a write is never missed.
 */
const HEAD = 0;
const TAIL = 1;
const PUBLISHED = 2;
const CONSUMED = 3;
/** Set by the event loop when it closes the ring: the consumer thread stops waiting. */
const CLOSED = 4;
/** Set while the consumer waits to be woken: only then does a write notify. */
const SLEEPING = 5;
const HEADER_INTS = 8;
const HEADER_BYTES = HEADER_INTS * 4;
const WRAP = -1;

/** Atomics.waitAsync (ES2024; in V8 since Node 16), typed here as the project's lib is ES2023. */
const waitAsync = (Atomics as unknown as {
  waitAsync(array: Int32Array, index: number, value: number): { async: false; value: string } | { async: true; value: Promise<string> };
}).waitAsync;

export class RingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RingError';
  }
}

function padded(length: number): number {
  return (length + 3) & ~3;
}

export class SharedRing {
  readonly shared: SharedArrayBuffer;
  readonly #header: Int32Array;
  readonly #data: Uint8Array;
  readonly #view: DataView;
  readonly #capacity: number;

  /** A new ring of `capacity` data bytes (a multiple of 4), or one over an existing buffer. */
  constructor(from: number | SharedArrayBuffer) {
    if (typeof from === 'number') {
      if (from < 64 || from % 4 !== 0) throw new RingError(`ring capacity must be a multiple of 4 and at least 64, not ${from}`);
      this.shared = new SharedArrayBuffer(HEADER_BYTES + from);
    } else {
      this.shared = from;
    }
    this.#capacity = this.shared.byteLength - HEADER_BYTES;
    this.#header = new Int32Array(this.shared, 0, HEADER_INTS);
    this.#data = new Uint8Array(this.shared, HEADER_BYTES, this.#capacity);
    this.#view = new DataView(this.shared, HEADER_BYTES, this.#capacity);
  }

  /** The largest record `tryWrite` takes. */
  get maxRecordBytes(): number {
    return this.#capacity / 2 - 8;
  }

  /** Producer: appends a record; false when there is no room for it now (nothing written). */
  tryWrite(bytes: Uint8Array): boolean {
    if (bytes.length > this.maxRecordBytes) throw new RingError(`record of ${bytes.length} bytes exceeds the ring's ${this.maxRecordBytes}`);
    const need = 4 + padded(bytes.length);
    const head = Atomics.load(this.#header, HEAD);
    const tail = Atomics.load(this.#header, TAIL);
    let at: number;
    if (head >= tail) {
      // Free: [head, capacity) and [0, tail). Strict comparisons keep a gap, and keep room for
      // a wrap marker at the end (everything is 4-aligned).
      if (this.#capacity - head > need) at = head;
      else if (tail > need) {
        this.#view.setInt32(head, WRAP, true);
        at = 0;
      } else return false;
    } else if (tail - head > need) at = head;
    else return false;
    this.#view.setInt32(at, bytes.length, true);
    this.#data.set(bytes, at + 4);
    Atomics.store(this.#header, HEAD, at + need);
    Atomics.add(this.#header, PUBLISHED, 1);
    if (Atomics.load(this.#header, SLEEPING) === 1) Atomics.notify(this.#header, PUBLISHED);
    return true;
  }

  /** Consumer: the oldest record, copied into an ArrayBuffer of its own; undefined when empty. */
  read(): ArrayBuffer | undefined {
    let tail = Atomics.load(this.#header, TAIL);
    const head = Atomics.load(this.#header, HEAD);
    if (tail === head) return undefined;
    let length = this.#view.getInt32(tail, true);
    if (length === WRAP) {
      tail = 0;
      length = this.#view.getInt32(0, true);
    }
    const out = new Uint8Array(length);
    out.set(this.#data.subarray(tail + 4, tail + 4 + length));
    Atomics.store(this.#header, TAIL, tail + 4 + padded(length));
    Atomics.add(this.#header, CONSUMED, 1);
    Atomics.notify(this.#header, CONSUMED);
    return out.buffer;
  }

  /** How many records have been published so far (wraps at 2^31; compare for equality only). */
  published(): number {
    return Atomics.load(this.#header, PUBLISHED);
  }

  /** Consumer thread: sleeps until `published() !== seen` (woken by the writer), the ring is closed, or `timeoutMs`. */
  waitForRecord(seen: number, timeoutMs: number): void {
    if (this.closed()) return;
    Atomics.store(this.#header, SLEEPING, 1);
    Atomics.wait(this.#header, PUBLISHED, seen, timeoutMs);
    Atomics.store(this.#header, SLEEPING, 0);
  }

  /** Consumer thread: waits up to `timeoutMs` for `published() !== seen` without asking to be woken. */
  pollForRecord(seen: number, timeoutMs: number): void {
    if (this.closed()) return;
    Atomics.wait(this.#header, PUBLISHED, seen, timeoutMs);
  }

  /** Producer thread: blocks until the consumer has read something since `consumedSeen`, or `timeoutMs`. */
  waitForRoom(consumedSeen: number, timeoutMs: number): void {
    if (this.closed()) return;
    Atomics.wait(this.#header, CONSUMED, consumedSeen, timeoutMs);
  }

  /** How many records have been read so far (for `waitForRoom`). */
  consumed(): number {
    return Atomics.load(this.#header, CONSUMED);
  }

  /**
   * Event loop: resolves once `published() !== seen` (at once if it already differs). The
   * wake-up comes as a task from V8 (Atomics.waitAsync), not through a MessagePort.
   */
  whenPublished(seen: number): Promise<unknown> | undefined {
    Atomics.store(this.#header, SLEEPING, 1);
    const waiting = waitAsync(this.#header, PUBLISHED, seen);
    if (!waiting.async) {
      Atomics.store(this.#header, SLEEPING, 0);
      return undefined;
    }
    return waiting.value.then(() => Atomics.store(this.#header, SLEEPING, 0));
  }

  close(): void {
    Atomics.store(this.#header, CLOSED, 1);
    Atomics.store(this.#header, SLEEPING, 1);
    Atomics.notify(this.#header, PUBLISHED);
    Atomics.notify(this.#header, CONSUMED);
  }

  closed(): boolean {
    return Atomics.load(this.#header, CLOSED) === 1;
  }
}
