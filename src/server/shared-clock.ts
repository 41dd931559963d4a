/**
 * One virtual clock for every server process on one database (docs/postgres.md "Several server
 * processes"). The time lives in the store (SharedClockStore: a row, and a notification per
 * move); each process keeps its own VirtualClock and moves it forward to every time it learns,
 * so its own timers (retention, webhook retries) fire as they do on one process.
 *
 * - join: a process starting later takes the shared time (before it starts any timer);
 * - advance (POST /admin/v1/clock on any process): the shared time moves to
 *   max(shared, this process's now) + advance, is announced, and this process follows at once;
 * - follow: the others move on the announcement, and a catch-up read every `catchUpMs`
 *   covers an announcement that was lost (listener connection down), so every process sees a
 *   move within about `catchUpMs` at worst.
 */
import type { SharedClockStore } from '../store/store.js';
import type { VirtualClock } from './clock.js';

export interface SharedClockOptions {
  /** How often the shared time is read in case an announcement was lost (default 500 ms, wall clock). */
  readonly catchUpMs?: number;
}

export const DEFAULT_SHARED_CLOCK_OPTIONS: Required<SharedClockOptions> = {
  /** @default 500 */
  catchUpMs: 500,
};

export class SharedClock {
  readonly #store: SharedClockStore;
  readonly #clock: VirtualClock;
  readonly #catchUpMs: number;
  #listener: { readonly open: boolean; close(): Promise<void> } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reading = false;
  #closed = false;

  private constructor(store: SharedClockStore, clock: VirtualClock, options: SharedClockOptions) {
    this.#store = store;
    this.#clock = clock;
    this.#catchUpMs = options.catchUpMs ?? DEFAULT_SHARED_CLOCK_OPTIONS.catchUpMs;
  }

  /** Takes the shared time (the clock may move back only while no timer waits), then follows it. */
  static async join(store: SharedClockStore, clock: VirtualClock, options: SharedClockOptions = {}): Promise<SharedClock> {
    const shared = new SharedClock(store, clock, options);
    const nowMs = await store.joinVirtualClock(clock.now());
    if (clock.pendingTimers === 0) clock.set(nowMs);
    else clock.advanceTo(nowMs);
    await shared.#listen();
    shared.#timer = setInterval(() => void shared.#catchUp(), shared.#catchUpMs);
    shared.#timer.unref();
    return shared;
  }

  /** Moves every process's clock by `advanceMs`; resolves with this process's new now. */
  async advance(advanceMs: number): Promise<number> {
    const nowMs = await this.#store.advanceVirtualClock(this.#clock.now(), advanceMs);
    return this.#clock.advanceTo(nowMs);
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#listener?.close();
    this.#listener = undefined;
  }

  async #listen(): Promise<void> {
    try {
      this.#listener = await this.#store.watchVirtualClock((nowMs) => {
        if (!this.#closed) this.#clock.advanceTo(nowMs);
      });
    } catch {
      this.#listener = undefined; // the catch-up read follows the clock meanwhile, and listens again
    }
  }

  async #catchUp(): Promise<void> {
    if (this.#reading || this.#closed) return;
    this.#reading = true;
    try {
      const nowMs = await this.#store.readVirtualClock();
      if (nowMs !== undefined && !this.#closed) this.#clock.advanceTo(nowMs);
      if (this.#listener?.open !== true && !this.#closed) {
        await this.#listener?.close();
        await this.#listen();
      }
    } catch {
      // database unreachable: this process keeps its time and catches up once it answers again
    } finally {
      this.#reading = false;
    }
  }
}
