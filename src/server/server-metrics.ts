/**
 * `GET /metrics` (transport-api.md §3): Prometheus text from prom-client, one registry per
 * server instance (tests run several servers in one process). Request and error counters are
 * bumped on the hot path (a label lookup and an add); store-derived gauges (sessions, queue
 * depths) are read only when scraped.
 *
 * Process gauges for the load harness's per-second time series (src/harness/load/server-telemetry.ts):
 * heap used, RSS, and the event-loop delay p99 since the previous scrape. The delay monitor
 * (perf_hooks, 10 ms resolution) starts at the first scrape, so a server nobody scrapes pays nothing.
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { Counter, Gauge, Registry } from 'prom-client';
import type { MetricsStore } from '../store/store.js';

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<'face' | 'status'>;
  readonly errors: Counter<'code'>;
  readonly messagesInbound: Counter;
  readonly messagesOutbound: Counter<'type'>;
  readonly spamReports: Counter<'outcome'>;
  /** Label children resolved once (prom-client hashes the label object on every `inc(labels)`). */
  readonly #requestChildren = new Map<string, { inc(): void }>();
  readonly #outboundChildren = new Map<string, { inc(): void }>();
  #loopDelay: IntervalHistogram | undefined;

  constructor(
    store: MetricsStore,
    extra: {
      inboxWaiters?: () => number;
      sweepTotals?: () => { sweeps: number; messages_deleted: number; user_ids_deleted: number };
      webhookTotals?: () => { delivered: number; failed_posts: number; dropped: number; refused: number };
    } = {},
  ) {
    const registers = [this.registry];
    this.requests = new Counter({ name: 'sigload_http_requests_total', help: 'HTTP requests answered, by face and status', labelNames: ['face', 'status'], registers });
    this.errors = new Counter({ name: 'sigload_errors_total', help: 'Graph errors answered, by code', labelNames: ['code'], registers });
    this.messagesInbound = new Counter({ name: 'sigload_messages_inbound_total', help: 'User messages decrypted and stored', registers });
    this.messagesOutbound = new Counter({ name: 'sigload_messages_outbound_total', help: 'Business messages accepted, by type', labelNames: ['type'], registers });
    this.spamReports = new Counter({ name: 'sigload_spam_reports_total', help: 'Spam reports, by outcome: counted (the business reached the user) or ignored', labelNames: ['outcome'], registers });
    if (extra.sweepTotals !== undefined) {
      const read = extra.sweepTotals;
      const total = (name: string, help: string, pick: (t: ReturnType<typeof read>) => number): void => {
        new Counter({ name, help, registers, collect() { this.reset(); this.inc(pick(read())); } });
      };
      total('sigload_retention_sweeps_total', 'Retention sweeps run', (t) => t.sweeps);
      total('sigload_retention_messages_deleted_total', 'Message data records deleted by retention sweeps', (t) => t.messages_deleted);
      total('sigload_retention_user_ids_deleted_total', 'Users whose identifiers retention sweeps deleted', (t) => t.user_ids_deleted);
    }
    if (extra.webhookTotals !== undefined) {
      const read = extra.webhookTotals;
      new Counter({
        name: 'sigload_webhook_pieces_total',
        help: 'Webhook pieces by outcome',
        labelNames: ['outcome'],
        registers,
        collect() {
          this.reset();
          const t = read();
          this.inc({ outcome: 'delivered' }, t.delivered);
          this.inc({ outcome: 'dropped' }, t.dropped);
          this.inc({ outcome: 'refused' }, t.refused);
        },
      });
    }
    const storeGauge = (name: string, help: string, pick: (m: Awaited<ReturnType<MetricsStore['metrics']>>) => number): void => {
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          this.set(pick(await store.metrics()));
        },
      });
    };
    storeGauge('sigload_sessions', 'Signal sessions held for businesses', (m) => m.sessions);
    storeGauge('sigload_webhook_queue_depth', 'Webhook payloads waiting for delivery', (m) => m.webhook_queue_depth);
    storeGauge('sigload_inbox_entries', 'Ciphertexts waiting in device inboxes', (m) => m.inbox_entries);
    storeGauge('sigload_devices', 'Registered user devices', (m) => m.devices);
    storeGauge('sigload_businesses', 'Businesses', (m) => m.businesses);
    storeGauge('sigload_messages_stored', 'Inbound messages at rest', (m) => m.messages);
    const processGauge = (name: string, help: string, read: () => number): void => {
      new Gauge({ name, help, registers, collect() { this.set(read()); } });
    };
    processGauge('sigload_heap_used_bytes', 'V8 heap used by the server process', () => process.memoryUsage().heapUsed);
    processGauge('sigload_rss_bytes', 'Resident set size of the server process', () => process.memoryUsage.rss());
    processGauge('sigload_event_loop_delay_p99_seconds', 'Event-loop delay p99 since the previous scrape (0 at the first)', () => this.#takeLoopDelayP99Seconds());
    if (extra.inboxWaiters !== undefined) {
      const read = extra.inboxWaiters;
      new Gauge({ name: 'sigload_inbox_long_polls', help: 'Long-polls waiting', registers, collect() { this.set(read()); } });
    }
  }

  /** `sigload_http_requests_total{face,status}` += 1, with the label child cached. */
  countRequest(face: string, status: number): void {
    const key = `${face} ${status}`;
    let child = this.#requestChildren.get(key);
    if (child === undefined) this.#requestChildren.set(key, (child = this.requests.labels({ face, status: String(status) })));
    child.inc();
  }

  /** `sigload_messages_outbound_total{type}` += 1, with the label child cached. */
  countOutbound(type: 'template' | 'text'): void {
    let child = this.#outboundChildren.get(type);
    if (child === undefined) this.#outboundChildren.set(type, (child = this.messagesOutbound.labels({ type })));
    child.inc();
  }

  countReport(counted: boolean): void {
    this.spamReports.inc({ outcome: counted ? 'counted' : 'ignored' });
  }

  /** Event-loop delay p99 recorded since the previous call, seconds; starts the monitor on the first call. */
  #takeLoopDelayP99Seconds(): number {
    if (this.#loopDelay === undefined) {
      this.#loopDelay = monitorEventLoopDelay({ resolution: 10 });
      this.#loopDelay.enable();
      return 0;
    }
    const p99 = this.#loopDelay.count === 0 ? 0 : this.#loopDelay.percentile(99) / 1e9;
    this.#loopDelay.reset();
    return p99;
  }

  /** Stops the event-loop delay monitor (when a scrape started it). */
  close(): void {
    this.#loopDelay?.disable();
    this.#loopDelay = undefined;
  }

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
