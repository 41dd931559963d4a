/**
 * `GET /metrics` (transport-api.md §3): Prometheus text from prom-client, one registry per
 * server instance (tests run several servers in one process). Request and error counters are
 * bumped on the hot path (a label lookup and an add); store-derived gauges (sessions, queue
 * depths) are read only when scraped.
 */
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

  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
