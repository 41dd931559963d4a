import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getBackend } from '../../src/crypto/index.js';
import { AtRest } from '../../src/server/at-rest.js';
import { DAY_MS, HOUR_MS, VirtualClock } from '../../src/server/clock.js';
import { backoffDelayMs } from '../../src/server/webhook-delivery.js';
import { WebhookDispatcher } from '../../src/server/webhook-dispatcher.js';
import { buildStatusesPayload, type StatusEvent, type WebhookPayload } from '../../src/server/webhook-payloads.js';
import { answerVerification, signPayload, verifyCallback, verifySignature } from '../../src/server/webhook-signature.js';
import { MemoryStore } from '../../src/store/memory/index.js';
import { StoreError } from '../../src/store/store.js';
import type { BusinessRecord } from '../../src/store/store.js';
import { createBusiness, openProfile } from '../store/fixtures.js';

interface Received {
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** A webhook receiver on 127.0.0.1:0 that can be switched down (503) and up (200). */
async function receiver(verifyToken = 'verify-me'): Promise<{ url: string; received: Received[]; setUp(up: boolean): void; close(): Promise<void>; server: Server }> {
  const received: Received[] = [];
  let up = true;
  const server = createServer((req, res) => {
    if (req.method === 'GET') {
      const answer = answerVerification(new URL(req.url ?? '/', 'http://x').searchParams, verifyToken);
      res.writeHead(answer.status).end(answer.body);
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (!up) {
        res.writeHead(503).end();
        return;
      }
      received.push({ headers: req.headers, body: Buffer.concat(chunks) });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    server,
    setUp: (value) => {
      up = value;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function setup(url: string, capacity = 10_000) {
  const clock = new VirtualClock();
  const store = new MemoryStore({ webhook_queue_capacity: capacity, now: () => clock.now() });
  const atRest = new AtRest();
  let seed = 1;
  const dispatcher = new WebhookDispatcher({
    store,
    atRest,
    clock,
    resolveTarget: (business: BusinessRecord) => {
      const profile = openProfile(atRest, business);
      return { phone_number_id: business.phone_number_id, waba_id: business.waba_id, display_phone_number: profile.display_phone_number, webhook_url: profile.webhook_url, app_secret: profile.app_secret };
    },
    max_batch: 100,
    request_timeout_ms: 5_000,
    // Deterministic jitter (a small LCG) so runs repeat.
    random: () => ((seed = (seed * 48271) % 2147483647) / 2147483647),
  });
  return { clock, store, atRest, dispatcher, url };
}

const statuses = (n: number, nowMs: number): StatusEvent[] =>
  Array.from({ length: n }, (_, i) => ({ id: `wamid.S${i}`, status: i % 3 === 0 ? 'read' : 'delivered', timestamp_ms: nowMs, recipient_id: '15550001234' }) as StatusEvent);

test('X-Hub-Signature-256: sha256=<hex HMAC-SHA256(raw body, app secret)>, verified over the raw bytes', () => {
  const body = '{"object":"whatsapp_business_account","entry":[]}';
  const header = signPayload(body, 'app-secret');
  const hmac = getBackend('noble').hmacSha256(new TextEncoder().encode('app-secret'), new TextEncoder().encode(body));
  assert.equal(header, `sha256=${Buffer.from(hmac).toString('hex')}`, 'independent HMAC agrees');
  assert.equal(verifySignature(body, header, 'app-secret'), true);
  assert.equal(verifySignature(Buffer.from(body), header, 'app-secret'), true);
  assert.equal(verifySignature(body + ' ', header, 'app-secret'), false);
  assert.equal(verifySignature(body, header, 'other-secret'), false);
  assert.equal(verifySignature(body, header.toUpperCase(), 'app-secret'), false);
  assert.equal(verifySignature(body, undefined, 'app-secret'), false);
});

test('verification handshake: the callback must echo hub.challenge for the right verify token', async () => {
  const r = await receiver('tok');
  try {
    assert.equal(await verifyCallback(r.url, 'tok', { challenge: '1158201444' }), true);
    assert.equal(await verifyCallback(r.url, 'tok'), true);
    assert.equal(await verifyCallback(r.url, 'wrong'), false);
    assert.equal(await verifyCallback('http://127.0.0.1:9/none', 'tok', { timeout_ms: 1000 }), false);
    assert.equal(await verifyCallback('not a url', 'tok'), false);
    assert.deepEqual(answerVerification(new URLSearchParams('hub.mode=subscribe&hub.challenge=abc&hub.verify_token=tok'), 'tok'), { status: 200, body: 'abc' });
    assert.equal(answerVerification(new URLSearchParams('hub.mode=unsubscribe&hub.challenge=abc&hub.verify_token=tok'), 'tok').status, 403);
  } finally {
    await r.close();
  }
});

test('payload shapes: statuses and messages in object/entry/changes/value', () => {
  const business = { phone_number_id: '106540352242922', waba_id: '102290129340398', display_phone_number: '15550783881' };
  const p = buildStatusesPayload(business, [{ id: 'wamid.A', status: 'failed', timestamp_ms: 1_750_000_000_123, recipient_id: '16505551234', errors: [{ code: 131026, title: 'Message undeliverable' }] }]);
  assert.deepEqual(p, {
    object: 'whatsapp_business_account',
    entry: [{ id: '102290129340398', changes: [{ field: 'messages', value: {
      messaging_product: 'whatsapp',
      metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
      statuses: [{ id: 'wamid.A', status: 'failed', timestamp: '1750000000', recipient_id: '16505551234', errors: [{ code: 131026, title: 'Message undeliverable' }] }],
    } }] }],
  });
});

test('backoff: immediate first retry, then full jitter under an exponential ceiling capped at max', () => {
  assert.equal(backoffDelayMs(1, {}, () => 0.999), 0);
  assert.equal(backoffDelayMs(2, { base_delay_ms: 1000 }, () => 0.5), 500);
  assert.equal(backoffDelayMs(5, { base_delay_ms: 1000 }, () => 0.999), Math.floor(0.999 * 8000));
  assert.equal(backoffDelayMs(60, { base_delay_ms: 1000, max_delay_ms: HOUR_MS }, () => 0.999), Math.floor(0.999 * HOUR_MS));
  assert.equal(backoffDelayMs(60, {}, () => 0), 0);
});

test('a receiver that is down for two days then comes back gets every status and message, signed, dedupable', async () => {
  const r = await receiver();
  const { clock, store, atRest, dispatcher } = setup(r.url);
  try {
    const business = await createBusiness(store, atRest, { webhook_url: r.url, app_secret: 's3cret' });
    r.setUp(false);
    dispatcher.start();
    await dispatcher.enqueueStatuses(business, statuses(250, clock.now()));
    await dispatcher.enqueueMessage(business, { wa_id: '15550001234', profile_name: 'Ann', id: 'wamid.IN1', timestamp_ms: clock.now(), message: { type: 'text', text: { body: 'hello' } } });
    await dispatcher.idle();
    assert.equal(r.received.length, 0);
    assert.ok(dispatcher.metrics.failed_posts >= 4, 'first attempt and the immediate retry failed');
    // Two days down, in one-hour steps of virtual time.
    for (let h = 0; h < 48; h++) {
      clock.advance(HOUR_MS);
      await dispatcher.idle();
    }
    assert.equal(r.received.length, 0);
    assert.equal(await store.webhookQueueDepth(), 251, 'nothing lost while down');
    r.setUp(true);
    for (let h = 0; h < 4 && (await store.webhookQueueDepth()) > 0; h++) {
      clock.advance(HOUR_MS);
      await dispatcher.idle();
    }
    await dispatcher.stop();
    assert.equal(await store.webhookQueueDepth(), 0);

    const seen = new Map<string, number>();
    let messages = 0;
    for (const req of r.received) {
      assert.equal(verifySignature(req.body, req.headers['x-hub-signature-256'] as string, 's3cret'), true);
      const payload = JSON.parse(req.body.toString('utf8')) as WebhookPayload;
      assert.equal(payload.object, 'whatsapp_business_account');
      const value = payload.entry[0]!.changes[0]!.value as { statuses?: { id: string; status: string }[]; messages?: { id: string; text: { body: string } }[] };
      for (const s of value.statuses ?? []) seen.set(`${s.id}:${s.status}`, (seen.get(`${s.id}:${s.status}`) ?? 0) + 1);
      for (const m of value.messages ?? []) {
        assert.equal(m.id, 'wamid.IN1');
        assert.equal(m.text.body, 'hello');
        messages++;
      }
      assert.ok((value.statuses?.length ?? 0) <= 100, 'batches bounded by max_batch');
    }
    assert.equal(seen.size, 250, 'every status arrived');
    assert.ok(messages >= 1);
    assert.equal(dispatcher.metrics.dropped, 0);
    assert.equal(dispatcher.metrics.delivered, 251);
  } finally {
    await dispatcher.stop();
    await r.close();
  }
});

test('retries end after the 7-day window on the server clock: pieces dropped and counted', async () => {
  const r = await receiver();
  const { clock, store, atRest, dispatcher } = setup(r.url);
  try {
    const business = await createBusiness(store, atRest, { webhook_url: r.url });
    r.setUp(false);
    dispatcher.start();
    await dispatcher.enqueueStatuses(business, statuses(3, clock.now()));
    await dispatcher.idle();
    let hours = 0;
    while ((await store.webhookQueueDepth()) > 0 && hours < 24 * 8) {
      clock.advance(6 * HOUR_MS);
      hours += 6;
      await dispatcher.idle();
    }
    assert.equal(await store.webhookQueueDepth(), 0);
    assert.ok(hours >= 7 * 24 && hours <= 7 * 24 + 6, `dropped after 7 days, not before (${hours} h)`);
    assert.equal(dispatcher.metrics.dropped, 3);
    assert.ok(dispatcher.metrics.retries > 10, 'retried repeatedly within the window');
    assert.equal(r.received.length, 0);
  } finally {
    await dispatcher.stop();
    await r.close();
  }
});

test('bounded queue: what does not fit is refused with queue-full, counted, and nothing partial is queued', async () => {
  const { clock, store, atRest, dispatcher } = setup('http://127.0.0.1:9/none', 10);
  const business = await createBusiness(store, atRest);
  await dispatcher.enqueueStatuses(business, statuses(8, clock.now()));
  await assert.rejects(dispatcher.enqueueStatuses(business, statuses(11, clock.now()).slice(8)), (e: unknown) => e instanceof StoreError && e.kind === 'queue-full');
  assert.equal(await store.webhookQueueDepth(), 8);
  assert.equal(dispatcher.metrics.refused, 3);
  await dispatcher.enqueueStatuses(business, statuses(10, clock.now()).slice(8));
  assert.equal(await store.webhookQueueDepth(), 10);
  // Queued payloads are sealed at rest.
  for await (const rec of store.auditRecords('US')) {
    if (rec.kind === 'webhook') assert.equal(Buffer.from(rec.bytes, 'base64').includes(Buffer.from('wamid.S')), false);
  }
});

test('unreachable receiver (connection refused) is retried, not lost', async () => {
  const { clock, store, atRest, dispatcher } = setup('x');
  const business = await createBusiness(store, atRest, { webhook_url: 'http://127.0.0.1:9/closed' });
  dispatcher.start();
  await dispatcher.enqueueStatuses(business, statuses(2, clock.now()));
  await dispatcher.idle();
  clock.advance(DAY_MS);
  await dispatcher.idle();
  await dispatcher.stop();
  assert.equal(await store.webhookQueueDepth(), 2);
  assert.ok(dispatcher.metrics.failed_posts >= 3);
  assert.equal(dispatcher.metrics.dropped, 0);
});

test('a hanging receiver holds at most its own share in memory and never blocks another business', async () => {
  let release: () => void = () => {};
  const hung = new Promise<void>((resolve) => (release = resolve));
  const hanging = createServer((req, res) => {
    req.resume();
    void hung.then(() => res.writeHead(200).end());
  });
  await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
  const slowUrl = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/hook`;
  const fast = await receiver();
  const clock = new VirtualClock();
  const store = new MemoryStore({ now: () => clock.now() });
  const atRest = new AtRest();
  const dispatcher = new WebhookDispatcher({
    store,
    atRest,
    clock,
    resolveTarget: (business) => {
      const profile = openProfile(atRest, business);
      return { phone_number_id: business.phone_number_id, waba_id: business.waba_id, display_phone_number: profile.display_phone_number, webhook_url: profile.webhook_url, app_secret: profile.app_secret };
    },
    max_batch: 10,
    concurrency_per_business: 1,
    claim_limit: 50,
  });
  try {
    const slow = await createBusiness(store, atRest, { webhook_url: slowUrl });
    const quick = await createBusiness(store, atRest, { webhook_url: fast.url });
    dispatcher.start();
    await dispatcher.enqueueStatuses(slow, statuses(100, clock.now()));
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.ok(dispatcher.inFlight <= 10, `slow business holds ${dispatcher.inFlight} pieces, cap 10`);
    await dispatcher.enqueueStatuses(quick, statuses(30, clock.now()));
    // The quick business gets one share (10) per round; the rest follow after the poll interval.
    for (let i = 0; i < 100 && fast.received.length < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      clock.advance(1_000);
    }
    assert.ok(dispatcher.inFlight <= 10 + 10);
    assert.equal(fast.received.length, 3, 'the other business got its 30 statuses in 3 batches while the first hangs');
    // The acknowledgement follows the receiver's answer: wait for it (the slow lane still hangs).
    for (let i = 0; i < 100 && (await store.webhookQueueDepth(quick.phone_number_id)) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(await store.webhookQueueDepth(quick.phone_number_id), 0);
    assert.equal(await store.webhookQueueDepth(slow.phone_number_id), 100, 'nothing of the slow business lost');
    release();
    for (let step = 0; step < 30 && (await store.webhookQueueDepth()) > 0; step++) {
      clock.advance(60_000);
      await dispatcher.idle();
    }
    assert.equal(await store.webhookQueueDepth(), 0);
    assert.equal(dispatcher.metrics.delivered, 130);
  } finally {
    release();
    await dispatcher.stop();
    hanging.closeAllConnections();
    await new Promise<void>((resolve) => hanging.close(() => resolve()));
    await fast.close();
  }
});

test('virtual clock nobody advances: a failed POST is still retried (real-time due checks) and delivered once the receiver is back', async () => {
  const r = await receiver();
  const clock = new VirtualClock();
  const store = new MemoryStore({ now: () => clock.now() });
  const atRest = new AtRest();
  const dispatcher = new WebhookDispatcher({
    store,
    atRest,
    clock,
    resolveTarget: (business: BusinessRecord) => {
      const profile = openProfile(atRest, business);
      return { phone_number_id: business.phone_number_id, waba_id: business.waba_id, display_phone_number: profile.display_phone_number, webhook_url: profile.webhook_url, app_secret: profile.app_secret };
    },
    base_delay_ms: 50,
    max_delay_ms: 100,
    poll_ms: 50,
  });
  try {
    const business = await createBusiness(store, atRest, { webhook_url: r.url, app_secret: 's3cret' });
    r.setUp(false);
    dispatcher.start();
    await dispatcher.enqueueStatuses(business, statuses(5, clock.now()));
    await dispatcher.idle();
    assert.ok(dispatcher.metrics.failed_posts >= 2, 'first attempt and the immediate retry failed');
    assert.equal(r.received.length, 0);
    r.setUp(true);
    const virtualBefore = clock.now();
    // Wall-clock wait (bounded) for the real-time due checks; the virtual clock never moves.
    for (let i = 0; i < 200 && (await store.webhookQueueDepth()) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    assert.equal(clock.now(), virtualBefore, 'nobody advanced the clock');
    assert.equal(await store.webhookQueueDepth(), 0, 'retried on real time and acknowledged');
    assert.equal(dispatcher.metrics.delivered, 5);
    assert.equal(dispatcher.metrics.dropped, 0);
  } finally {
    await dispatcher.stop();
    await r.close();
  }
});

test('batching under load: statuses queued while a POST is in flight go out together, not one POST each', async () => {
  let release: () => void = () => {};
  let gate = new Promise<void>((resolve) => (release = resolve));
  const bodies: Buffer[] = [];
  const slow = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push(Buffer.concat(chunks));
      void gate.then(() => res.writeHead(200).end('ok'));
    });
  });
  await new Promise<void>((resolve) => slow.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(slow.address() as AddressInfo).port}/hook`;
  const { clock, store, atRest, dispatcher } = setup(url);
  try {
    const business = await createBusiness(store, atRest, { webhook_url: url });
    dispatcher.start();
    await dispatcher.enqueueStatuses(business, statuses(1, clock.now()));
    for (let i = 0; i < 200 && bodies.length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(bodies.length, 1, 'the first status is posted at once');
    // 40 more, one enqueue each, while the first POST hangs.
    const more = statuses(41, clock.now()).slice(1);
    for (const s of more) {
      await dispatcher.enqueueStatuses(business, [s]);
      await new Promise((resolve) => setImmediate(resolve));
    }
    assert.equal(bodies.length, 1, 'nothing more is posted while the lane is busy');
    const firstGate = release;
    gate = new Promise<void>((resolve) => (release = resolve));
    release();
    firstGate();
    await dispatcher.idle();
    assert.equal(await store.webhookQueueDepth(), 0);
    assert.equal(bodies.length, 2, 'the 40 statuses queued meanwhile went out in one POST (max_batch 100)');
    const value = (JSON.parse(bodies[1]!.toString('utf8')) as WebhookPayload).entry[0]!.changes[0]!.value as { statuses: unknown[] };
    assert.equal(value.statuses.length, 40);
  } finally {
    release();
    await dispatcher.stop();
    slow.closeAllConnections();
    await new Promise<void>((resolve) => slow.close(() => resolve()));
  }
});
