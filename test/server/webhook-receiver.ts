/**
 * A local webhook receiver for the server suites: answers the hub.challenge GET, checks
 * X-Hub-Signature-256 over the raw body, records every payload, and can be "down" (answers 503)
 * to exercise the dispatcher's retries.
 */
import { performance } from 'node:perf_hooks';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { verifySignature } from '../../src/server/webhook-signature.js';

export interface ReceivedStatus {
  readonly id: string;
  readonly status: string;
  readonly recipient_id: string;
  readonly errors?: readonly { code: number }[];
}

export interface ReceivedMessage {
  readonly from: string;
  readonly id: string;
  readonly type: string;
  readonly [field: string]: unknown;
}

export class WebhookReceiver {
  readonly verifyToken = 'verify-me';
  /** App secrets of the businesses that use this receiver (each payload must verify under one). */
  readonly appSecrets: string[] = [];
  down = false;
  readonly payloads: unknown[] = [];
  readonly messages: ReceivedMessage[] = [];
  readonly statuses: ReceivedStatus[] = [];
  badSignatures = 0;
  refused = 0;
  /** performance.now() when the last message arrived (0 before any). */
  lastMessageAtMs = 0;
  private server: Server | undefined;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', 'http://127.0.0.1');
      if (request.method === 'GET') {
        const ok = url.searchParams.get('hub.mode') === 'subscribe' && url.searchParams.get('hub.verify_token') === this.verifyToken;
        response.writeHead(ok ? 200 : 403).end(ok ? (url.searchParams.get('hub.challenge') ?? '') : 'no');
        return;
      }
      const chunks: Buffer[] = [];
      request.on('data', (c: Buffer) => chunks.push(c));
      request.on('end', () => {
        const raw = Buffer.concat(chunks);
        if (this.down) {
          this.refused += 1;
          response.writeHead(503).end();
          return;
        }
        const header = request.headers['x-hub-signature-256'] as string | undefined;
        if (!this.appSecrets.some((secret) => verifySignature(raw, header, secret))) {
          this.badSignatures += 1;
          response.writeHead(401).end();
          return;
        }
        const payload = JSON.parse(raw.toString('utf8')) as { entry: { changes: { value: { messages?: ReceivedMessage[]; statuses?: ReceivedStatus[] } }[] }[] };
        this.payloads.push(payload);
        for (const entry of payload.entry) {
          for (const change of entry.changes) {
            const messages = change.value.messages ?? [];
            if (messages.length > 0) this.lastMessageAtMs = performance.now();
            this.messages.push(...messages);
            this.statuses.push(...(change.value.statuses ?? []));
          }
        }
        response.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhook`;
  }

  statusesOf(id: string): string[] {
    return this.statuses.filter((s) => s.id === id).map((s) => s.status);
  }

  async close(): Promise<void> {
    if (this.server === undefined) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
