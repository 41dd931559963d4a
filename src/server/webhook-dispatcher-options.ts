/**
 * What the webhook dispatcher (./webhook-dispatcher.ts) is given and what it reports: its
 * options with their one defaults object, the delivery target of a business, and its counters.
 */
import type { BusinessDirectoryStore, BusinessRecord, WebhookQueueStore } from '../store/store.js';
import type { AtRest } from './at-rest.js';
import type { TimerClock } from './clock.js';
import { DAY_MS } from './clock.js';
import { BACKOFF_DEFAULTS, type BackoffOptions } from './webhook-delivery.js';
import type { WebhookBusiness } from './webhook-payloads.js';

/** Where and how to deliver a business's webhooks; undefined when it has no callback. */
export interface WebhookTarget extends WebhookBusiness {
  readonly webhook_url: string;
  readonly app_secret: string;
}

export interface WebhookDispatcherOptions extends BackoffOptions {
  /** The webhook queue, and the directory that finds a claimed piece's business. */
  readonly store: WebhookQueueStore & BusinessDirectoryStore;
  readonly atRest: AtRest;
  readonly clock: TimerClock;
  /** Opens the business profile into a target (the faces own the profile format). */
  readonly resolveTarget: (business: BusinessRecord) => Promise<WebhookTarget | undefined> | WebhookTarget | undefined;
  /** Updates per POST (Meta: up to 1000). @default 100 */
  readonly max_batch?: number;
  /** POSTs in flight per business. @default 4 */
  readonly concurrency_per_business?: number;
  /** Pieces claimed per pass (bounds memory and overall concurrency). @default 1_000 */
  readonly claim_limit?: number;
  /** Give up on a piece this long after it was queued (server clock). @default 7 days */
  readonly retry_window_ms?: number;
  /**
   * Wall-clock deadline of one POST, from sending it to the last byte of the answer (a total,
   * not an idle timeout: a receiver that trickles its answer is cut off too). @default 10_000
   */
  readonly request_timeout_ms?: number;
  /** Lease on claimed pieces (server clock), so another process does not resend them. @default 60_000 */
  readonly lease_ms?: number;
  /** Longest wait between passes when nothing is due sooner (server clock). @default 1_000 */
  readonly poll_ms?: number;
  /** Random in [0, 1) for jitter; tests may fix it. @default Math.random */
  readonly random?: () => number;
  /**
   * Replaces the built-in poster (tests). When absent: node:http / node:https requests on keep-alive
   * agents owned by the dispatcher (global fetch costs ~0.4 ms of CPU per POST in undici's web
   * streams; the agents reuse connections to each receiver).
   */
  readonly fetch?: typeof fetch;
}


/** The defaults of `WebhookDispatcherOptions` (backoff included), in one place. */
export const WEBHOOK_DISPATCHER_DEFAULTS = Object.freeze({
  ...BACKOFF_DEFAULTS,
  max_batch: 100,
  concurrency_per_business: 4,
  claim_limit: 1_000,
  retry_window_ms: 7 * DAY_MS,
  request_timeout_ms: 10_000,
  lease_ms: 60_000,
  poll_ms: 1_000,
  random: Math.random,
});

export interface WebhookMetrics {
  /** Pieces accepted into the queue. */
  readonly enqueued: number;
  /** Pieces refused because the business's queue was full. */
  readonly refused: number;
  /** Pieces acknowledged by a receiver. */
  readonly delivered: number;
  /** POSTs sent / POSTs that failed (non-2xx, network error, timeout). */
  readonly posts: number;
  readonly failed_posts: number;
  /** Retries scheduled. */
  readonly retries: number;
  /** Pieces dropped after the retry window (or because the business has no callback). */
  readonly dropped: number;
}
