/**
 * Webhook dispatcher (cloud-api.md §2; transport-api.md §2 "Webhooks").
 *
 * Payloads: ./webhook-payloads.ts; signatures and the handshake: ./webhook-signature.ts; one POST
 * and the backoff between attempts: ./webhook-delivery.ts.
 *
 * - Queue: every piece (one inbound message, or one status event) is a sealed `webhook` record
 *   in the business's region of the store; the queue is bounded per business and a piece that
 *   does not fit is refused with StoreError('queue-full') — the caller turns that into an error
 *   or a `failed` status. Nothing is dropped silently.
 * - Delivery: due pieces are claimed (with a lease), grouped per business into POSTs of up to
 *   `max_batch` updates (Meta batches up to 1000, M-WHEP), at most `concurrency_per_business`
 *   POSTs in flight per business. Any 2xx acknowledges the batch. Each business has its own
 *   lane, so a slow or dead receiver delays only its own pieces and holds at most
 *   `concurrency_per_business × max_batch` of them in memory (all lanes: ≤ `claim_limit`).
 * - Retries: after a failure the piece waits `backoffDelayMs` (./webhook-delivery.ts) on the
 *   server's clock; the last attempt is at created + `retry_window_ms` (7 days), after which the
 *   piece is dropped and counted in `metrics.dropped`.
 * - Batching under load: a pass starts on the next turn of the event loop after the enqueue that
 *   asked for it (so every piece queued in the same turn rides one claim), and a business whose
 *   lane is still posting is not claimed again until that POST is answered: pieces queued
 *   meanwhile wait in the store and go out together, up to `max_batch` per POST. A business
 *   sending N messages/s therefore costs a few POSTs per receiver round trip, not N.
 * - Virtual clock (`--virtual-clock`): due times are on the server's clock, so a retry waits for
 *   the clock to reach it. So that a running server whose clock nobody advances still makes
 *   progress, the dispatcher's due check on a virtual clock is "virtual now + the real time
 *   elapsed since the virtual clock last moved" (never going back), re-checked on real-time
 *   ticks (≤ `poll_ms` of real time) while pieces wait: a retry due 2 s after a failure is
 *   tried 2 s of real time later even if nobody advances the clock, and at once when the clock
 *   is advanced past it.
 * - Ids: a message piece's queue id is its wamid; a status piece's is `<wamid>:<status>`.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { StoreError, recordKey } from '../store/store.js';
import type { BusinessRecord, WebhookItem } from '../store/store.js';
import type { TimerHandle } from './clock.js';
import { backoffDelayMs, fetchPoster, loggableUrl, nodeHttpPoster, type WebhookPoster } from './webhook-delivery.js';
import { WEBHOOK_DISPATCHER_DEFAULTS, type WebhookDispatcherOptions, type WebhookMetrics, type WebhookTarget } from './webhook-dispatcher-options.js';
import { buildMessagesPayload, buildStatusesPayload, type InboundMessageEvent, type StatusEvent, type WebhookPayload } from './webhook-payloads.js';
import { SIGNATURE_HEADER, signPayload } from './webhook-signature.js';

/** The sealed content of one queued piece. */
type QueuedPiece = { readonly type: 'message'; readonly event: InboundMessageEvent } | { readonly type: 'status'; readonly event: StatusEvent };

const utf8 = new TextEncoder();
/** SIGLOAD_SERVER_DEBUG=1: failed webhook POSTs are logged to stderr (the URL without its query). */
const debugWebhooks = process.env['SIGLOAD_SERVER_DEBUG'] === '1';
const utf8Decoder = new TextDecoder();

export class WebhookDispatcher {
  readonly #o: Required<Omit<WebhookDispatcherOptions, 'fetch'>>;
  readonly #post: WebhookPoster;
  readonly #closePoster: () => void;
  #timer: TimerHandle | undefined;
  /** Real-time re-check of due pieces when the clock is virtual (see the module comment). */
  #realTimer: NodeJS.Timeout | undefined;
  #virtualSeenMs = Number.NaN;
  #realAtVirtualSeenMs = 0;
  #lastDueCheckMs = -Infinity;
  #started = false;
  #pass: Promise<void> | undefined;
  #again = false;
  /** Per business: the chain of deliveries in flight, so one slow receiver never blocks another. */
  readonly #lanes = new Map<string, Promise<void>>();
  /** Per business: ids claimed and held in memory until acknowledged or rescheduled. */
  readonly #held = new Map<string, Set<string>>();
  #heldCount = 0;
  /**
   * Pieces this process queued, by `<pnid> <id>`, with the sealed bytes they were stored as: a
   * claimed item whose bytes are those exact bytes is delivered without opening and parsing it
   * again (in process only, like the server's other caches; anything else — a restart, another
   * process's piece — is opened from the store). At most `#openedLimit`, oldest dropped.
   */
  readonly #opened = new Map<string, { readonly sealed: Uint8Array; readonly piece: QueuedPiece }>();
  readonly #openedLimit = 20_000;
  /** Aborted when `stop` runs out of grace: cuts off the POSTs in flight. */
  readonly #shutdown = new AbortController();
  #m = { enqueued: 0, refused: 0, delivered: 0, posts: 0, failed_posts: 0, retries: 0, dropped: 0 };

  constructor(options: WebhookDispatcherOptions) {
    this.#o = { ...WEBHOOK_DISPATCHER_DEFAULTS, ...options };
    if (options.fetch !== undefined) {
      this.#post = fetchPoster(options.fetch);
      this.#closePoster = () => {};
    } else {
      const poster = nodeHttpPoster();
      this.#post = poster.post;
      this.#closePoster = poster.close;
    }
    if (this.#o.max_batch < 1 || this.#o.concurrency_per_business < 1 || this.#o.claim_limit < 1) {
      throw new RangeError('max_batch, concurrency_per_business and claim_limit must be ≥ 1');
    }
  }

  get metrics(): WebhookMetrics {
    return { ...this.#m };
  }

  /** Pieces claimed and held in memory right now (bounded by `claim_limit`). */
  get inFlight(): number {
    return this.#heldCount;
  }

  /** Queues one inbound message for the business's webhook. StoreError('queue-full') if it does not fit. */
  enqueueMessage(business: BusinessRecord, event: InboundMessageEvent): Promise<void> {
    return this.#enqueue(business, [{ id: event.id, piece: { type: 'message', event } }]);
  }

  /** Queues status events, all or none. StoreError('queue-full') if they do not fit. */
  enqueueStatuses(business: BusinessRecord, events: readonly StatusEvent[]): Promise<void> {
    return this.#enqueue(
      business,
      events.map((event) => ({ id: `${event.id}:${event.status}`, piece: { type: 'status', event } })),
    );
  }

  /** Starts delivering in the background on the clock. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#kick();
  }

  /**
   * Stops scheduling passes and waits for the deliveries in flight, at most `graceMs` (default:
   * no bound beyond each POST's deadline); then cuts them off. A delivery cut off is rescheduled
   * like any failed one, so it is retried after a restart.
   */
  async stop(graceMs = Number.POSITIVE_INFINITY): Promise<void> {
    this.#started = false;
    this.#timer?.cancel();
    this.#timer = undefined;
    if (this.#realTimer !== undefined) clearTimeout(this.#realTimer);
    this.#realTimer = undefined;
    let grace: NodeJS.Timeout | undefined;
    if (Number.isFinite(graceMs)) grace = setTimeout(() => this.#shutdown.abort(), graceMs);
    await this.idle();
    clearTimeout(grace);
    this.#closePoster();
  }

  /**
   * "Now" for due checks: the clock's time; on a virtual clock, plus the real time elapsed since
   * the virtual clock last moved, never going back (module comment, "Virtual clock").
   */
  #dueCheckMs(): number {
    const clock = this.#o.clock;
    const virtualMs = clock.now();
    if (!clock.virtual) return virtualMs;
    const realMs = performance.now();
    if (virtualMs !== this.#virtualSeenMs) {
      this.#virtualSeenMs = virtualMs;
      this.#realAtVirtualSeenMs = realMs;
    }
    const dueMs = Math.max(this.#lastDueCheckMs, virtualMs + (realMs - this.#realAtVirtualSeenMs));
    this.#lastDueCheckMs = dueMs;
    return dueMs;
  }

  /** Resolves when no pass and no delivery is in flight (including work started meanwhile). */
  async idle(): Promise<void> {
    for (;;) {
      if (this.#pass !== undefined) await this.#pass;
      else if (this.#lanes.size > 0) await Promise.all(this.#lanes.values());
      else return;
    }
  }

  /**
   * Delivers everything due now, waiting for each delivery, until nothing more is due; returns
   * the pieces handled (delivered, rescheduled or dropped). The background loop (`start`) does
   * the same without waiting.
   */
  async deliverDue(): Promise<number> {
    let handled = 0;
    for (;;) {
      const n = await this.#claimAndDispatch();
      await Promise.all(this.#lanes.values());
      handled += n;
      if (n === 0) return handled;
    }
  }

  async #enqueue(business: BusinessRecord, pieces: readonly { id: string; piece: QueuedPiece }[]): Promise<void> {
    if (pieces.length === 0) return;
    const nowMs = this.#o.clock.now();
    const items: WebhookItem[] = pieces.map(({ id, piece }) => ({
      phone_number_id: business.phone_number_id,
      id,
      created_at_ms: nowMs,
      due_at_ms: nowMs,
      attempts: 0,
      sealed: this.#o.atRest.sealForBusiness(business, 'webhook', recordKey.webhook(business.phone_number_id, id), utf8.encode(JSON.stringify(piece))),
    }));
    try {
      await this.#o.store.enqueueWebhooks(items);
    } catch (error) {
      if (error instanceof StoreError && error.kind === 'queue-full') this.#m.refused += items.length;
      throw error;
    }
    for (let i = 0; i < items.length; i++) {
      if (this.#opened.size >= this.#openedLimit) this.#opened.delete(this.#opened.keys().next().value!);
      this.#opened.set(`${business.phone_number_id} ${items[i]!.id}`, { sealed: items[i]!.sealed, piece: pieces[i]!.piece });
    }
    this.#m.enqueued += items.length;
    // A business whose lane is posting is claimed again when that POST is answered (the lane's
    // end kicks a pass): no pass per enqueue under load.
    if (this.#started && !this.#lanes.has(business.phone_number_id)) this.#kick();
  }

  /** Acknowledges pieces in the store and forgets their opened copies. */
  async #ack(phoneNumberId: string, ids: readonly string[]): Promise<void> {
    await this.#o.store.ackWebhooks(phoneNumberId, ids);
    for (const id of ids) this.#opened.delete(`${phoneNumberId} ${id}`);
  }

  /** Schedules a pass as soon as possible (joins the running one). */
  #kick(): void {
    if (this.#pass !== undefined) {
      this.#again = true;
      return;
    }
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#pass = (async () => {
      // Let every enqueue of this turn of the event loop land first: they share one claim.
      await nextTurn();
      try {
        do {
          this.#again = false;
          while ((await this.#claimAndDispatch()) > 0);
        } while (this.#again);
      } catch {
        // A store failure: the next scheduled pass tries again.
      }
      // Arm the next pass before this one counts as finished, so `idle()` implies "armed".
      if (this.#started) await this.#armNext();
    })().finally(() => {
      this.#pass = undefined;
      if (this.#again && this.#started) this.#kick();
    });
  }

  /** Arms a timer for the earliest due piece, or `poll_ms` when sooner (server clock). */
  async #armNext(): Promise<void> {
    const nowMs = this.#o.clock.now();
    let delayMs = this.#o.poll_ms;
    let next: number | undefined;
    try {
      next = await this.#o.store.nextWebhookDueMs();
      if (next !== undefined) delayMs = Math.max(0, Math.min(delayMs, next - nowMs));
    } catch {
      // keep the poll interval
    }
    if (!this.#started) return;
    this.#timer?.cancel();
    this.#timer = this.#o.clock.setTimer(delayMs, () => {
      this.#timer = undefined;
      this.#kick();
    });
    if (this.#o.clock.virtual && this.#realTimer === undefined && (next !== undefined || this.#lanes.size > 0)) {
      // Pieces wait: re-check them on real time too (virtual clocks only; unref'd).
      const realDelayMs = next === undefined ? this.#o.poll_ms : Math.max(1, Math.min(this.#o.poll_ms, next - this.#dueCheckMs()));
      this.#realTimer = setTimeout(() => {
        this.#realTimer = undefined;
        if (this.#started) this.#kick();
      }, realDelayMs);
      this.#realTimer.unref();
    }
  }

  /**
   * Claims due pieces (as many as `claim_limit` leaves room for) and hands them to their
   * business's lane without waiting. A business already holding `concurrency_per_business ×
   * max_batch` pieces is skipped by the claim; pieces beyond that share that a claim still
   * returns (one claim's worth, or a store that ignores the hint) are released for `poll_ms`
   * (attempts unchanged), so a dead receiver cannot take the whole claim budget. Returns the
   * number of pieces newly handed to lanes.
   */
  async #claimAndDispatch(): Promise<number> {
    const o = this.#o;
    const room = o.claim_limit - this.#heldCount;
    if (room <= 0) return 0;
    const nowMs = this.#dueCheckMs();
    const perBusinessCap = o.concurrency_per_business * o.max_batch;
    // A business whose lane is still posting is not claimed: what it queues meanwhile goes out
    // together once the POST is answered (module comment, "Batching under load").
    const saturated = new Set<string>(this.#lanes.keys());
    for (const [pnid, held] of this.#held) if (held.size >= perBusinessCap) saturated.add(pnid);
    const claimed = await o.store.claimWebhooks(nowMs, { limit: room, lease_ms: o.lease_ms, skip_phone_number_ids: saturated, per_business_limit: perBusinessCap });
    const byBusiness = new Map<string, WebhookItem[]>();
    for (const item of claimed) {
      const pnid = item.phone_number_id;
      let held = this.#held.get(pnid);
      if (held?.has(item.id) === true) continue; // already in a lane; the claim only renewed its lease
      if ((held?.size ?? 0) >= perBusinessCap) {
        await o.store.rescheduleWebhook(pnid, item.id, nowMs + o.poll_ms, item.attempts);
        continue;
      }
      if (held === undefined) this.#held.set(pnid, (held = new Set()));
      held.add(item.id);
      this.#heldCount += 1;
      let list = byBusiness.get(pnid);
      if (list === undefined) byBusiness.set(pnid, (list = []));
      list.push(item);
    }
    for (const [pnid, items] of byBusiness) {
      const previous = this.#lanes.get(pnid) ?? Promise.resolve();
      const lane: Promise<void> = previous
        .then(() => this.#deliverBusiness(pnid, items))
        .catch(() => {
          // A store failure: the pieces' leases run out and they are claimed again.
        })
        .finally(() => {
          const held = this.#held.get(pnid);
          for (const item of items) if (held?.delete(item.id) === true) this.#heldCount -= 1;
          if (held !== undefined && held.size === 0) this.#held.delete(pnid);
          if (this.#lanes.get(pnid) === lane) this.#lanes.delete(pnid);
          if (this.#started) this.#kick(); // room freed, and immediate retries may be due
        });
      this.#lanes.set(pnid, lane);
    }
    let handed = 0;
    for (const list of byBusiness.values()) handed += list.length;
    return handed;
  }

  async #deliverBusiness(phoneNumberId: string, items: readonly WebhookItem[]): Promise<void> {
    const o = this.#o;
    const business = await o.store.getBusiness(phoneNumberId);
    const target = business === undefined ? undefined : await o.resolveTarget(business);
    if (business === undefined || target === undefined) {
      await this.#ack(phoneNumberId, items.map((i) => i.id));
      this.#m.dropped += items.length;
      return;
    }
    // Open the pieces; one that fails to open is corrupt at rest and is dropped (counted).
    const messages: { item: WebhookItem; event: InboundMessageEvent }[] = [];
    const statuses: { item: WebhookItem; event: StatusEvent }[] = [];
    const corrupt: string[] = [];
    for (const item of items) {
      try {
        const known = this.#opened.get(`${phoneNumberId} ${item.id}`);
        const piece =
          known !== undefined && known.sealed === item.sealed
            ? known.piece
            : (JSON.parse(utf8Decoder.decode(o.atRest.openForBusiness(business, 'webhook', recordKey.webhook(phoneNumberId, item.id), item.sealed))) as QueuedPiece);
        if (piece.type === 'message') messages.push({ item, event: piece.event });
        else statuses.push({ item, event: piece.event });
      } catch {
        corrupt.push(item.id);
      }
    }
    if (corrupt.length > 0) {
      await this.#ack(phoneNumberId, corrupt);
      this.#m.dropped += corrupt.length;
    }
    const batches: { items: WebhookItem[]; payload: WebhookPayload }[] = [];
    for (let i = 0; i < messages.length; i += o.max_batch) {
      const chunk = messages.slice(i, i + o.max_batch);
      batches.push({ items: chunk.map((c) => c.item), payload: buildMessagesPayload(target, chunk.map((c) => c.event)) });
    }
    for (let i = 0; i < statuses.length; i += o.max_batch) {
      const chunk = statuses.slice(i, i + o.max_batch);
      batches.push({ items: chunk.map((c) => c.item), payload: buildStatusesPayload(target, chunk.map((c) => c.event)) });
    }
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < batches.length) {
        const batch = batches[next++]!;
        await this.#deliverBatch(target, batch.items, batch.payload);
      }
    };
    await Promise.all(Array.from({ length: Math.min(o.concurrency_per_business, batches.length) }, worker));
  }

  async #deliverBatch(target: WebhookTarget, items: readonly WebhookItem[], payload: WebhookPayload): Promise<void> {
    const o = this.#o;
    const body = JSON.stringify(payload);
    let ok = false;
    this.#m.posts += 1;
    try {
      const headers = { 'content-type': 'application/json', [SIGNATURE_HEADER]: signPayload(body, target.app_secret) };
      const status = await this.#post(target.webhook_url, headers, body, o.request_timeout_ms, this.#shutdown.signal);
      ok = status >= 200 && status < 300;
      if (!ok && debugWebhooks) console.error(`webhook POST ${loggableUrl(target.webhook_url)}: HTTP ${status}`);
    } catch (error) {
      ok = false;
      if (debugWebhooks) console.error(`webhook POST ${loggableUrl(target.webhook_url)} failed: ${(error as Error).message}`);
    }
    const pnid = target.phone_number_id;
    if (ok) {
      await this.#ack(pnid, items.map((i) => i.id));
      this.#m.delivered += items.length;
      return;
    }
    this.#m.failed_posts += 1;
    const nowMs = this.#dueCheckMs();
    const expired: string[] = [];
    for (const item of items) {
      const failures = item.attempts + 1;
      const deadlineMs = item.created_at_ms + o.retry_window_ms;
      if (nowMs >= deadlineMs) {
        expired.push(item.id);
        continue;
      }
      const dueMs = Math.min(deadlineMs, nowMs + backoffDelayMs(failures, o, o.random));
      await o.store.rescheduleWebhook(pnid, item.id, dueMs, failures);
      this.#m.retries += 1;
    }
    if (expired.length > 0) {
      await this.#ack(pnid, expired);
      this.#m.dropped += expired.length;
    }
  }
}
