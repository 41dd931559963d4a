/**
 * Retention sweeper (transport-api.md §3 "Retention"; cloud-api.md §5, M-PRIV):
 * - message data (stored messages, inbox ciphertexts, webhook payloads, statuses) is deleted at
 *   most `messageRetentionMs` (30 days) after it was created;
 * - a user's identifiers (contact, devices and their keys, conversations, the businesses'
 *   sessions with the user's devices) are deleted `userRetentionMs` (30 days) after the user's
 *   last activity: the latest of registration, any status update of a message that involves the
 *   user, and any message from the user;
 * - business data is kept.
 *
 * The store keeps message data in time buckets, so a sweep drops whole expired buckets and
 * touches only the edge bucket: its cost grows with what expires, not with what is stored. The
 * sweep runs in bounded batches and yields to the event loop between them.
 */
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { RetentionStore } from '../store/store.js';
import type { Clock, TimerClock, TimerHandle } from './clock.js';
import { DAY_MS, HOUR_MS } from './clock.js';

export const DEFAULT_MESSAGE_RETENTION_MS = 30 * DAY_MS;
export const DEFAULT_USER_RETENTION_MS = 30 * DAY_MS;

export interface RetentionOptions {
  /** Message data older than this is deleted, ms. @default 30 days */
  readonly messageRetentionMs?: number;
  /** User identifiers idle longer than this are deleted, ms. @default 30 days */
  readonly userRetentionMs?: number;
  /**
   * Deletes this much earlier than the retention periods, so that data swept on a schedule of
   * this interval never outlives them, ms. `RetentionSchedule` passes its interval. @default 0
   */
  readonly marginMs?: number;
  /**
   * Message-data records deleted per batch before yielding to the event loop: a few ms of work
   * on the memory store, one bounded DELETE on PostgreSQL, so requests keep being served while a
   * large backlog is swept (`sweep-under-load-drop` ≥ 0.9). @default 2000
   */
  readonly batchRecords?: number;
  /** Users deleted per batch before yielding. @default 200 */
  readonly batchUsers?: number;
}

/** Defaults of `RetentionOptions` (documented per field there). */
export const DEFAULT_RETENTION_OPTIONS = {
  messageRetentionMs: DEFAULT_MESSAGE_RETENTION_MS,
  userRetentionMs: DEFAULT_USER_RETENTION_MS,
  marginMs: 0,
  batchRecords: 2_000,
  batchUsers: 200,
} as const satisfies Required<RetentionOptions>;

export interface RetentionSweepResult {
  readonly messages_deleted: number;
  readonly user_ids_deleted: number;
  /** Wall-clock time the sweep took, in milliseconds. */
  readonly duration_ms: number;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (!Number.isFinite(v) || v < 0) throw new RangeError(`${name} must be a finite number ≥ 0`);
  return v;
}

/** One full sweep on the clock's current time. */
export async function retentionSweep(store: RetentionStore, clock: Clock, options: RetentionOptions = {}): Promise<RetentionSweepResult> {
  const defaults = DEFAULT_RETENTION_OPTIONS;
  const messageRetentionMs = positive('messageRetentionMs', options.messageRetentionMs, defaults.messageRetentionMs);
  const userRetentionMs = positive('userRetentionMs', options.userRetentionMs, defaults.userRetentionMs);
  const marginMs = positive('marginMs', options.marginMs, defaults.marginMs);
  const batchRecords = Math.max(1, Math.floor(positive('batchRecords', options.batchRecords, defaults.batchRecords)));
  const batchUsers = Math.max(1, Math.floor(positive('batchUsers', options.batchUsers, defaults.batchUsers)));

  const started = performance.now();
  const nowMs = clock.now();
  // A record created at t is deleted once now ≥ t + retention - margin, i.e. t ≤ cutoff:
  // `sweep*` deletes strictly before the cutoff, so the cutoff is one past that instant.
  const messageCutoffMs = nowMs - messageRetentionMs + marginMs + 1;
  const userCutoffMs = nowMs - userRetentionMs + marginMs + 1;

  let messagesDeleted = 0;
  for (;;) {
    const batch = await store.sweepMessageData(messageCutoffMs, { max_records: batchRecords });
    messagesDeleted += batch.messages_deleted;
    if (batch.done) break;
    await yieldToEventLoop();
  }
  let usersDeleted = 0;
  for (;;) {
    const batch = await store.sweepUsers(userCutoffMs, { max_users: batchUsers });
    usersDeleted += batch.user_ids_deleted;
    if (batch.done) break;
    await yieldToEventLoop();
  }
  return { messages_deleted: messagesDeleted, user_ids_deleted: usersDeleted, duration_ms: performance.now() - started };
}

/** Default of `RetentionScheduleOptions.intervalMs`. */
export const DEFAULT_RETENTION_INTERVAL_MS = HOUR_MS;

export interface RetentionScheduleOptions extends RetentionOptions {
  /** Time between sweeps on the server's clock, ms; also the sweep's `marginMs` unless that is set. @default 1 hour */
  readonly intervalMs?: number;
  /** Called with each sweep's result (e.g. to log). */
  readonly onSweep?: (result: RetentionSweepResult) => void;
  /** Called when a sweep throws; the schedule keeps going. */
  readonly onError?: (error: unknown) => void;
}

/**
 * Sweeps every `intervalMs` on the server's clock (virtual time included), with the interval
 * as margin so nothing outlives its retention period by more than zero. Exposes totals for
 * /metrics.
 */
export class RetentionSchedule {
  readonly #store: RetentionStore;
  readonly #clock: TimerClock;
  readonly #options: RetentionScheduleOptions;
  readonly #intervalMs: number;
  #timer: TimerHandle | undefined;
  #running: Promise<RetentionSweepResult> | undefined;
  #sweeps = 0;
  #messagesDeleted = 0;
  #userIdsDeleted = 0;
  #durationMs = 0;
  #errors = 0;
  #sweepAgain = false;

  constructor(store: RetentionStore, clock: TimerClock, options: RetentionScheduleOptions = {}) {
    this.#store = store;
    this.#clock = clock;
    this.#intervalMs = Math.max(1, positive('intervalMs', options.intervalMs, DEFAULT_RETENTION_INTERVAL_MS));
    this.#options = { ...options, marginMs: options.marginMs ?? this.#intervalMs };
  }

  start(): void {
    if (this.#timer !== undefined) return;
    this.#arm();
  }

  /** Stops the schedule; a sweep in flight finishes (await `idle()`). */
  stop(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#sweepAgain = false;
  }

  /** Resolves when no sweep is running or asked for. */
  async idle(): Promise<void> {
    for (;;) {
      if (this.#running !== undefined) await this.#running.catch(() => undefined);
      else if (this.#sweepAgain && this.#timer !== undefined) await yieldToEventLoop();
      else return;
    }
  }

  /** Runs one sweep now (joins one already running, whatever its cutoff). Resolves when it is done. */
  sweepNow(): Promise<RetentionSweepResult> {
    if (this.#running !== undefined) return this.#running;
    const run = retentionSweep(this.#store, this.#clock, this.#options).then(
      (result) => {
        this.#sweeps += 1;
        this.#messagesDeleted += result.messages_deleted;
        this.#userIdsDeleted += result.user_ids_deleted;
        this.#durationMs += result.duration_ms;
        this.#options.onSweep?.(result);
        return result;
      },
      (error: unknown) => {
        this.#errors += 1;
        throw error;
      },
    );
    this.#running = run.finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  /**
   * The operator's sweep (`POST /admin/v1/retention/sweep`): waits for any sweep already running
   * (its cutoff may predate a clock move), then sweeps on the clock's time now, so that when it
   * resolves nothing past retention is left. The counts are what this sweep and every sweep it
   * waited for deleted.
   */
  async sweepAfterNow(): Promise<RetentionSweepResult> {
    const started = performance.now();
    let messagesDeleted = 0;
    let userIdsDeleted = 0;
    // A sweep may start while we wait for another (the schedule's catch-up sweep): wait for it too.
    while (this.#running !== undefined) {
      const waited = await this.#running.catch(() => undefined);
      messagesDeleted += waited?.messages_deleted ?? 0;
      userIdsDeleted += waited?.user_ids_deleted ?? 0;
    }
    const own = await this.sweepNow();
    return {
      messages_deleted: messagesDeleted + own.messages_deleted,
      user_ids_deleted: userIdsDeleted + own.user_ids_deleted,
      duration_ms: performance.now() - started,
    };
  }

  /** Totals since start, for /metrics. */
  get totals(): { readonly sweeps: number; readonly messages_deleted: number; readonly user_ids_deleted: number; readonly duration_ms: number; readonly errors: number } {
    return { sweeps: this.#sweeps, messages_deleted: this.#messagesDeleted, user_ids_deleted: this.#userIdsDeleted, duration_ms: this.#durationMs, errors: this.#errors };
  }

  #arm(): void {
    this.#timer = this.#clock.setTimer(this.#intervalMs, () => {
      this.#arm();
      if (this.#running !== undefined) {
        // Time moved on while a sweep runs (e.g. a virtual clock advanced by days): sweep again
        // once it is done, at the clock's time then, instead of joining the stale one.
        this.#sweepAgain = true;
        return;
      }
      this.#scheduledSweep();
    });
  }

  #scheduledSweep(): void {
    this.#sweepAgain = false;
    this.sweepNow()
      .catch((error: unknown) => this.#options.onError?.(error))
      .finally(() => {
        if (this.#sweepAgain && this.#timer !== undefined) this.#scheduledSweep();
      });
  }
}
