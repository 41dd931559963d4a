/**
 * The business side of the scenarios: one HTTP server on loopback that plays every business's
 * webhook endpoint (transport-api.md §2, cloud-api.md §2). It answers the `hub.challenge`
 * verification GET, checks `X-Hub-Signature-256` (HMAC-SHA256 over the raw body with the
 * business's app secret, constant-time compare) on every POST, and counts what arrives:
 * inbound `messages` and `statuses` by status. A bad signature is answered 401 and counted.
 *
 * Each business gets its own path, `/webhooks/<label>`, so the receiver knows which app secret
 * applies. The app secret is only known after the business is created (it is in the answer of
 * `POST /admin/v1/businesses`), so POSTs for a label whose secret is not yet set are kept and
 * checked when `setAppSecret` is called.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { performance } from 'node:perf_hooks';

export interface WebhookTally {
  /** Inbound user messages (value.messages[]), each message id counted once. */
  messages: number;
  /**
   * Deliveries of a message id already counted. Webhook delivery is at least once: a POST whose
   * answer the server did not see in time (its deadline, a lost connection) is retried, and the
   * receiver may already have it. Receivers dedupe by message id, as this one does.
   */
  redelivered: number;
  /** Status updates by status (sent, delivered, read, failed). */
  statuses: Record<string, number>;
  /** POSTs whose signature did not verify. */
  badSignatures: number;
  /** POSTs whose body was not a Cloud API webhook payload. */
  malformed: number;
  /** Verification GETs answered. */
  verifications: number;
  /** performance.now() when the last inbound user message arrived (0: none yet). */
  lastMessageAtMs: number;
}

export interface WebhookBusiness {
  label: string;
  tally: WebhookTally;
  /** Plaintext bodies of inbound text messages (for canary checks), kept when `keepTexts`. */
  texts: string[];
  /** wamid → every status seen for it. */
  statusById: Map<string, Set<string>>;
  /** Inbound message ids seen (for `redelivered`). */
  messageIds: Set<string>;
}

export interface WebhookReceiverOptions {
  /** verify_token the receiver expects in the hub.challenge GET. @default 'sigload-verify' */
  verifyToken?: string;
  /** Keep inbound text bodies. @default false */
  keepTexts?: boolean;
  /** Keep per-message statuses (wamid → statuses). @default true */
  keepStatusById?: boolean;
  /**
   * Address to listen on, and the host of every callback URL: one the server under test can
   * reach (a generator host's address when the server runs elsewhere). @default '127.0.0.1'
   */
  host?: string;
}

/** Defaults of `WebhookReceiverOptions` (documented per field there). */
export const DEFAULT_WEBHOOK_RECEIVER_OPTIONS = {
  verifyToken: 'sigload-verify',
  keepTexts: false,
  keepStatusById: true,
  host: '127.0.0.1',
} as const satisfies Required<WebhookReceiverOptions>;

export interface WebhookReceiver {
  /** http://<host>:<port> */
  readonly origin: string;
  readonly verifyToken: string;
  /** The callback URL for a business label. */
  urlFor(label: string): string;
  setAppSecret(label: string, appSecret: string): void;
  business(label: string): WebhookBusiness;
  /** Sum over all businesses. */
  total(): WebhookTally;
  /** Resolves when `predicate` holds (checked after every POST), or rejects after `timeoutMs`. */
  waitFor(predicate: () => boolean, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

const emptyTally = (): WebhookTally => ({ messages: 0, redelivered: 0, statuses: {}, badSignatures: 0, malformed: 0, verifications: 0, lastMessageAtMs: 0 });

/** True when `header` is `sha256=<hex HMAC-SHA256(raw, secret)>` (constant-time). */
export function verifyHubSignature(raw: Buffer, header: string | undefined, appSecret: string): boolean {
  if (!header || !header.startsWith('sha256=')) return false;
  const given = Buffer.from(header.slice('sha256='.length), 'hex');
  const expected = createHmac('sha256', appSecret).update(raw).digest();
  return given.length === expected.length && timingSafeEqual(given, expected);
}

interface WebhookChangeValue {
  messages?: Array<{ id?: unknown; type?: string; text?: { body?: string } }>;
  statuses?: Array<{ id?: string; status?: string }>;
}

export async function startWebhookReceiver(options: WebhookReceiverOptions = {}): Promise<WebhookReceiver> {
  const verifyToken = options.verifyToken ?? DEFAULT_WEBHOOK_RECEIVER_OPTIONS.verifyToken;
  const keepStatusById = options.keepStatusById ?? DEFAULT_WEBHOOK_RECEIVER_OPTIONS.keepStatusById;
  const businesses = new Map<string, WebhookBusiness>();
  const secrets = new Map<string, string>();
  const pending = new Map<string, Array<{ raw: Buffer; signature: string | undefined }>>();
  const waiters = new Set<{ predicate: () => boolean; resolve: () => void }>();

  const businessFor = (label: string): WebhookBusiness => {
    let b = businesses.get(label);
    if (!b) {
      b = { label, tally: emptyTally(), texts: [], statusById: new Map(), messageIds: new Set() };
      businesses.set(label, b);
    }
    return b;
  };

  const account = (label: string, raw: Buffer, signature: string | undefined): boolean => {
    const b = businessFor(label);
    if (!verifyHubSignature(raw, signature, secrets.get(label)!)) {
      b.tally.badSignatures++;
      return false;
    }
    let payload: { entry?: Array<{ changes?: Array<{ value?: WebhookChangeValue }> }> };
    try {
      payload = JSON.parse(raw.toString('utf8'));
    } catch {
      b.tally.malformed++;
      return true;
    }
    if (!Array.isArray(payload.entry)) {
      b.tally.malformed++;
      return true;
    }
    for (const entry of payload.entry) {
      for (const change of entry.changes ?? []) {
        const value = change.value ?? {};
        for (const m of value.messages ?? []) {
          if (typeof m.id === 'string') {
            if (b.messageIds.has(m.id)) {
              b.tally.redelivered++;
              continue;
            }
            b.messageIds.add(m.id);
          }
          b.tally.messages++;
          b.tally.lastMessageAtMs = performance.now();
          if (options.keepTexts && typeof m.text?.body === 'string') b.texts.push(m.text.body);
        }
        for (const s of value.statuses ?? []) {
          const status = String(s.status);
          b.tally.statuses[status] = (b.tally.statuses[status] ?? 0) + 1;
          if (keepStatusById && typeof s.id === 'string') {
            let seen = b.statusById.get(s.id);
            if (!seen) b.statusById.set(s.id, (seen = new Set()));
            seen.add(status);
          }
        }
      }
    }
    return true;
  };

  const wake = (): void => {
    for (const w of waiters) {
      if (w.predicate()) {
        waiters.delete(w);
        w.resolve();
      }
    }
  };

  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const match = /^\/webhooks\/([A-Za-z0-9_.-]+)$/.exec(url.pathname);
    if (!match) {
      req.resume();
      res.writeHead(404).end();
      return;
    }
    const label = match[1]!;
    if (req.method === 'GET') {
      req.resume();
      const ok = url.searchParams.get('hub.mode') === 'subscribe' && url.searchParams.get('hub.verify_token') === verifyToken;
      if (!ok) {
        res.writeHead(403).end();
        return;
      }
      businessFor(label).tally.verifications++;
      res.writeHead(200, { 'content-type': 'text/plain' }).end(url.searchParams.get('hub.challenge') ?? '');
      return;
    }
    if (req.method !== 'POST') {
      req.resume();
      res.writeHead(405).end();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const signature = req.headers['x-hub-signature-256'];
      const sig = Array.isArray(signature) ? signature[0] : signature;
      if (!secrets.has(label)) {
        // Secret not known yet: accept, check later (setAppSecret).
        const list = pending.get(label) ?? [];
        list.push({ raw, signature: sig });
        pending.set(label, list);
        res.writeHead(200).end();
        return;
      }
      const ok = account(label, raw, sig);
      res.writeHead(ok ? 200 : 401).end();
      wake();
    });
  });
  server.keepAliveTimeout = 30_000;
  const host = options.host ?? DEFAULT_WEBHOOK_RECEIVER_OPTIONS.host;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    origin,
    verifyToken,
    urlFor: (label) => `${origin}/webhooks/${label}`,
    setAppSecret(label, appSecret) {
      secrets.set(label, appSecret);
      for (const p of pending.get(label) ?? []) account(label, p.raw, p.signature);
      pending.delete(label);
      wake();
    },
    business: businessFor,
    total() {
      const sum = emptyTally();
      for (const b of businesses.values()) {
        sum.messages += b.tally.messages;
        sum.redelivered += b.tally.redelivered;
        sum.badSignatures += b.tally.badSignatures;
        sum.malformed += b.tally.malformed;
        sum.verifications += b.tally.verifications;
        for (const [k, v] of Object.entries(b.tally.statuses)) sum.statuses[k] = (sum.statuses[k] ?? 0) + v;
      }
      return sum;
    },
    waitFor(predicate, timeoutMs) {
      if (predicate()) return Promise.resolve();
      return new Promise<void>((resolve, reject) => {
        const waiter = {
          predicate,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`webhook receiver: condition not met within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
    close: () =>
      new Promise<void>((r) => {
        for (const w of waiters) waiters.delete(w);
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
