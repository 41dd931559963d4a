/**
 * The server's clock. Retention, webhook retries, service windows and rate limits all read
 * time from a `Clock` and schedule through it, so tests and benchmarks can run on virtual time
 * (`POST /admin/v1/clock {"advance_ms"}` — transport-api.md §3).
 */

export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export interface TimerHandle {
  cancel(): void;
}

/** A clock that can also run a callback once its time reaches a deadline. */
export interface TimerClock extends Clock {
  /** Runs `callback` once, `delayMs` from now on this clock. */
  setTimer(delayMs: number, callback: () => void): TimerHandle;
  /** True for a clock that only moves when told (VirtualClock). */
  readonly virtual: boolean;
}

/** Wall-clock time; timers are node timers, unref'd so they never keep the process alive. */
export class SystemClock implements TimerClock {
  readonly virtual = false;
  now(): number {
    return Date.now();
  }
  setTimer(delayMs: number, callback: () => void): TimerHandle {
    // Node fires delays above 2^31 − 1 ms at once; longer waits re-arm in steps.
    const MAX_DELAY_MS = 2 ** 31 - 1;
    const dueMs = Date.now() + Math.max(0, delayMs);
    let timer: NodeJS.Timeout;
    const arm = (): void => {
      const left = dueMs - Date.now();
      timer = setTimeout(left > MAX_DELAY_MS ? arm : callback, Math.min(Math.max(0, left), MAX_DELAY_MS));
      timer.unref();
    };
    arm();
    return { cancel: () => clearTimeout(timer) };
  }
}

interface VirtualTimer {
  readonly dueMs: number;
  readonly seq: number;
  readonly callback: () => void;
  cancelled: boolean;
}

/**
 * Time that moves only by `advance(ms)` (or `set`). Timers fire during `advance`, in due-time
 * order, with `now()` equal to each timer's due time while it runs; a timer a callback sets
 * inside the advanced span fires in the same `advance`. Callbacks run synchronously; work they
 * start asynchronously continues after `advance` returns.
 */
export class VirtualClock implements TimerClock {
  readonly virtual = true;
  #nowMs: number;
  #seq = 0;
  #timers: VirtualTimer[] = [];

  /** Starts at `startMs` (default: 2026-01-01T00:00:00Z, so runs are reproducible). */
  constructor(startMs: number = Date.UTC(2026, 0, 1)) {
    if (!Number.isFinite(startMs)) throw new RangeError('VirtualClock start must be finite');
    this.#nowMs = startMs;
  }

  now(): number {
    return this.#nowMs;
  }

  setTimer(delayMs: number, callback: () => void): TimerHandle {
    const timer: VirtualTimer = { dueMs: this.#nowMs + Math.max(0, delayMs), seq: this.#seq++, callback, cancelled: false };
    this.#timers.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  /** Moves time forward by `ms` (≥ 0), firing the timers that fall due on the way. Returns the new now. */
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('advance_ms must be a finite number ≥ 0');
    const targetMs = this.#nowMs + ms;
    for (;;) {
      const next = this.#nextDue(targetMs);
      if (next === undefined) break;
      this.#timers.splice(this.#timers.indexOf(next), 1);
      this.#nowMs = next.dueMs;
      next.callback();
    }
    this.#nowMs = targetMs;
    return this.#nowMs;
  }

  /** Moves time forward to `targetMs`, firing timers on the way; never back. Returns the new now. */
  advanceTo(targetMs: number): number {
    return targetMs > this.#nowMs ? this.advance(targetMs - this.#nowMs) : this.#nowMs;
  }

  /** Sets the time (also backwards) while no timer waits: a process joining a shared clock. */
  set(nowMs: number): void {
    if (!Number.isFinite(nowMs)) throw new RangeError('VirtualClock time must be finite');
    if (this.pendingTimers > 0) throw new RangeError('VirtualClock.set with timers waiting; use advanceTo');
    this.#nowMs = nowMs;
  }

  /** Number of timers waiting to fire. */
  get pendingTimers(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  #nextDue(limitMs: number): VirtualTimer | undefined {
    let best: VirtualTimer | undefined;
    this.#timers = this.#timers.filter((t) => !t.cancelled);
    for (const t of this.#timers) {
      if (t.dueMs > limitMs) continue;
      if (best === undefined || t.dueMs < best.dueMs || (t.dueMs === best.dueMs && t.seq < best.seq)) best = t;
    }
    return best;
  }
}

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;
