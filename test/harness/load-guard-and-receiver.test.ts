import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { judgeQuality, startGeneratorGuard, type GeneratorUsage } from '../../src/harness/load/generator-guard.js';
import { startWebhookReceiver, verifyHubSignature } from '../../src/harness/load/webhook-receiver.js';
import { checkCanary, checkRegions } from '../../src/harness/scenarios/compliance.js';
import type { AuditRecord } from '../../src/harness/load/contract.js';

const idle: GeneratorUsage = { wall_ms: 1000, cpu_ms: 100, cpu_cores: 0.1, main_thread_elu: 0.1, saturated: false };

test('generator guard: a busy main thread is reported saturated', async () => {
  // As in the drivers, the guard watches a running event loop: ELU counts from the loop's first
  // turn, and Node 22 and 24 run a test's first synchronous lines before it.
  await new Promise((r) => setImmediate(r));
  const guard = startGeneratorGuard();
  const until = Date.now() + 150;
  while (Date.now() < until) {
    // spin: the main thread is 100% busy
  }
  const usage = guard.stop();
  assert.equal(usage.saturated, true);
  assert.ok(usage.main_thread_elu >= 0.9, `ELU ${usage.main_thread_elu}`);
});

test('generator guard: an idle wait is not saturated', async () => {
  const guard = startGeneratorGuard();
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(guard.stop().saturated, false);
});

test('quality: saturation, errors, timeouts and unexpected non-2xx make a figure unclean', () => {
  assert.deepEqual(judgeQuality({ generator: idle, errors: 0, timeouts: 0, non2xx: 0 }), { clean: true, notes: [] });
  assert.equal(judgeQuality({ generator: { ...idle, saturated: true }, errors: 0, timeouts: 0, non2xx: 0 }).clean, false);
  assert.equal(judgeQuality({ generator: idle, errors: 1, timeouts: 0, non2xx: 0 }).clean, false);
  assert.equal(judgeQuality({ generator: idle, errors: 0, timeouts: 2, non2xx: 0 }).clean, false);
  assert.equal(judgeQuality({ generator: idle, errors: 0, timeouts: 0, non2xx: 3 }).clean, false);
  assert.equal(judgeQuality({ generator: idle, errors: 0, timeouts: 0, non2xx: 3, expectedNon2xx: 3 }).clean, true);
});

test('webhook receiver: verifies X-Hub-Signature-256, answers hub.challenge, counts payloads', async () => {
  const receiver = await startWebhookReceiver({ keepTexts: true });
  try {
    const url = receiver.urlFor('shop');
    const challenge = await fetch(`${url}?hub.mode=subscribe&hub.challenge=4242&hub.verify_token=${receiver.verifyToken}`);
    assert.equal(challenge.status, 200);
    assert.equal(await challenge.text(), '4242');
    const wrongToken = await fetch(`${url}?hub.mode=subscribe&hub.challenge=1&hub.verify_token=nope`);
    assert.equal(wrongToken.status, 403);
    await wrongToken.text();

    receiver.setAppSecret('shop', 'app-secret');
    const body = JSON.stringify({
      object: 'whatsapp_business_account',
      entry: [{ id: '1', changes: [{ field: 'messages', value: { messages: [{ type: 'text', text: { body: 'hi' } }], statuses: [{ id: 'wamid.A', status: 'read' }] } }] }],
    });
    const sign = (secret: string): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    const good = await fetch(url, { method: 'POST', body, headers: { 'x-hub-signature-256': sign('app-secret') } });
    assert.equal(good.status, 200);
    const bad = await fetch(url, { method: 'POST', body, headers: { 'x-hub-signature-256': sign('other-secret') } });
    assert.equal(bad.status, 401);
    const tally = receiver.business('shop').tally;
    assert.equal(tally.messages, 1);
    assert.deepEqual(tally.statuses, { read: 1 });
    assert.equal(tally.badSignatures, 1);
    assert.deepEqual(receiver.business('shop').texts, ['hi']);
    assert.ok(receiver.business('shop').statusById.get('wamid.A')?.has('read'));
  } finally {
    await receiver.close();
  }
});

test('webhook receiver: POSTs that arrive before the app secret is known are checked later', async () => {
  const receiver = await startWebhookReceiver();
  try {
    const body = JSON.stringify({ entry: [{ changes: [{ value: { statuses: [{ id: 'w1', status: 'sent' }] } }] }] });
    const sig = `sha256=${createHmac('sha256', 's3').update(body).digest('hex')}`;
    await (await fetch(receiver.urlFor('late'), { method: 'POST', body, headers: { 'x-hub-signature-256': sig } })).text();
    assert.deepEqual(receiver.business('late').tally.statuses, {});
    receiver.setAppSecret('late', 's3');
    assert.deepEqual(receiver.business('late').tally.statuses, { sent: 1 });
    assert.equal(verifyHubSignature(Buffer.from(body), sig, 'wrong'), false);
    assert.equal(verifyHubSignature(Buffer.from(body), undefined, 's3'), false);
  } finally {
    await receiver.close();
  }
});

test('webhook receiver: a message id delivered again counts once, as a redelivery (at-least-once delivery)', async () => {
  const receiver = await startWebhookReceiver({ keepTexts: true });
  try {
    receiver.setAppSecret('shop', 'k');
    const post = async (ids: string[]): Promise<void> => {
      const body = JSON.stringify({ entry: [{ changes: [{ value: { messages: ids.map((id) => ({ id, type: 'text', text: { body: id } })) } }] }] });
      const sig = `sha256=${createHmac('sha256', 'k').update(body).digest('hex')}`;
      assert.equal((await fetch(receiver.urlFor('shop'), { method: 'POST', body, headers: { 'x-hub-signature-256': sig } })).status, 200);
    };
    await post(['wamid.1', 'wamid.2']);
    await post(['wamid.2', 'wamid.3']);
    await post(['wamid.1']);
    const tally = receiver.business('shop').tally;
    assert.equal(tally.messages, 3);
    assert.equal(tally.redelivered, 2);
    assert.deepEqual(receiver.business('shop').texts, ['wamid.1', 'wamid.2', 'wamid.3']);
    assert.equal(receiver.total().redelivered, 2);
  } finally {
    await receiver.close();
  }
});

const record = (region: string, kind: string, key: string, bytes: string | Buffer): AuditRecord => ({
  region,
  kind,
  key,
  stored_at: '2026-01-01T00:00:00.000Z',
  bytes: (typeof bytes === 'string' ? Buffer.from(bytes) : bytes).toString('base64'),
});

test('compliance: canary in plaintext at rest is found; sealed bytes pass', () => {
  const sealed = new Map([['US', [record('US', 'message', '1/wamid.a', Buffer.from([1, 2, 3, 4]))]]]);
  assert.equal(checkCanary('t', 'CANARY-1', sealed).passed, true);
  const leaked = new Map([['DE', [record('DE', 'message', '1/wamid.a', 'xx {"body":"CANARY-1 hi"} yy')]]]);
  const check = checkCanary('t', 'CANARY-1', leaked);
  assert.equal(check.passed, false);
  assert.match(check.detail, /DE:message/);
  assert.equal(checkCanary('t', 'CANARY-1', new Map()).passed, false, 'no records at all is not a pass');
});

test('compliance: regional message data outside its region fails, inside passes', () => {
  const regional = [{ phoneNumberId: '77', region: 'DE', wamids: ['wamid.x'] }];
  const inside = new Map([
    ['DE', [record('DE', 'message', '77/wamid.x', 'sealed'), record('DE', 'inbox', '123.1/wamid.x', 'sealed')]],
    ['US', [record('US', 'contact', '123', 'sealed'), record('US', 'business', '77', 'sealed')]],
  ]);
  assert.equal(checkRegions('t', regional, inside).passed, true);
  const outside = new Map([...inside, ['US', [record('US', 'inbox', '123.1/wamid.x', 'sealed')]]]);
  assert.equal(checkRegions('t', regional, outside).passed, false);
  assert.equal(checkRegions('t', regional, new Map([['DE', []]])).passed, false, 'vacuous check is not a pass');
});
