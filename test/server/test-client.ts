/**
 * HTTP clients for the server suites: the operator, a business, and user devices backed by a
 * real libsignal-client 0.90.0 device (`LibsignalDevice`).
 */
import { LibsignalDevice } from '../../src/harness/device/libsignal-peer.js';
import type { Ciphertext, PreKeyBundle } from '../../src/signal/index.js';
import type { ReferenceServer } from '../../src/server/reference-server.js';
import type { WebhookReceiver } from './webhook-receiver.js';
import { bundleFromAnswer, call as contractCall, deviceRegistration, oneTimePreKeysOf, type BundleAnswer } from '../../src/harness/load/contract.js';
import { fromBase64, toBase64 } from '../../src/encoding/base64.js';

export interface Answer {
  readonly status: number;
  readonly body: any;
  readonly text: string;
}

export async function call(server: ReferenceServer, method: string, path: string, token: string | undefined, body?: unknown, rawBody?: string | Buffer): Promise<Answer> {
  const { status, text } = await contractCall(`${server.url}${path}`, {
    method,
    ...(token !== undefined ? { token } : {}),
    ...(body !== undefined ? { body } : {}),
    ...(rawBody !== undefined ? { rawBody } : {}),
  });
  let parsed: unknown;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status, body: parsed, text };
}

export interface TestBusiness {
  readonly pnid: string;
  readonly token: string;
  readonly appSecret: string;
  readonly wabaId: string;
}

export async function createBusiness(server: ReferenceServer, receiver: WebhookReceiver | undefined, extra: Record<string, unknown> = {}): Promise<TestBusiness> {
  const answer = await call(server, 'POST', '/admin/v1/businesses', server.adminToken, {
    display_phone_number: '15550001111',
    webhook_url: receiver?.url ?? '',
    verify_token: receiver?.verifyToken ?? '',
    ...extra,
  });
  if (answer.status !== 201) throw new Error(`create business: ${answer.status} ${answer.text}`);
  if (receiver !== undefined) receiver.appSecrets.push(answer.body.app_secret);
  return { pnid: answer.body.phone_number_id, token: answer.body.access_token, appSecret: answer.body.app_secret, wabaId: answer.body.waba_id };
}

export function sendText(server: ReferenceServer, business: TestBusiness, to: string, text: string): Promise<Answer> {
  return call(server, 'POST', `/v23.0/${business.pnid}/messages`, business.token, {
    messaging_product: 'whatsapp',
    recipient_type: 'individual',
    to,
    type: 'text',
    text: { body: text },
  });
}

export function sendTemplate(server: ReferenceServer, business: TestBusiness, to: string, name = 'order_update'): Promise<Answer> {
  return call(server, 'POST', `/v23.0/${business.pnid}/messages`, business.token, {
    messaging_product: 'whatsapp',
    to,
    type: 'template',
    template: { name, language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'X' }] }] },
  });
}

export function registrationBody(device: LibsignalDevice, waId: string, oneTimePreKeys = 5): Record<string, unknown> {
  const first = device.bundle();
  const extra = Array.from({ length: Math.max(0, oneTimePreKeys - 1) }, () => device.bundle());
  return { ...deviceRegistration(waId, first, oneTimePreKeys === 0 ? [] : oneTimePreKeysOf([first, ...extra])) };
}

/** A syntactically valid one-time prekey for uploads (0x05 ‖ 32 bytes; never used to encrypt). */
export function oneTimeKeyJson(id: number): { id: number; public_key: string } {
  return { id, public_key: Buffer.concat([Buffer.from([5]), Buffer.alloc(32, id % 251)]).toString('base64') };
}

export interface InboxMessage {
  readonly id: string;
  readonly from: string;
  readonly type: 2 | 3;
  readonly plaintext: any;
}

/** A user device: libsignal-client inside, the transport face outside. */
export class TestDevice {
  token = '';
  cursor = 0;
  private constructor(
    readonly server: ReferenceServer,
    readonly waId: string,
    readonly peer: LibsignalDevice,
  ) {}

  static async register(server: ReferenceServer, waId: string, deviceId = 1, oneTimePreKeys = 5): Promise<TestDevice> {
    const peer = await LibsignalDevice.create(waId, deviceId);
    const device = new TestDevice(server, waId, peer);
    const answer = await call(server, 'POST', '/transport/v1/devices', server.registrationToken, registrationBody(peer, waId, oneTimePreKeys));
    if (answer.status !== 201) throw new Error(`register: ${answer.status} ${answer.text}`);
    device.token = answer.body.device_token;
    return device;
  }

  async fetchBundle(pnid: string): Promise<{ answer: Answer; bundle: PreKeyBundle }> {
    const answer = await call(this.server, 'GET', `/transport/v1/businesses/${pnid}/bundle`, this.token);
    if (answer.status !== 200) throw new Error(`bundle: ${answer.status} ${answer.text}`);
    const bundle = bundleFromAnswer(answer.body as BundleAnswer);
    return { answer, bundle };
  }

  async startSession(pnid: string): Promise<void> {
    const { bundle } = await this.fetchBundle(pnid);
    await this.peer.processBundle({ name: pnid, deviceId: 1 }, bundle);
  }

  async encrypt(pnid: string, message: unknown): Promise<Ciphertext> {
    return this.peer.encrypt({ name: pnid, deviceId: 1 }, new TextEncoder().encode(JSON.stringify(message)));
  }

  postCiphertext(pnid: string, ciphertext: Ciphertext): Promise<Answer> {
    return call(this.server, 'POST', '/transport/v1/messages', this.token, { to: pnid, type: ciphertext.type, body: toBase64(ciphertext.body) });
  }

  async send(pnid: string, message: unknown): Promise<Answer> {
    return this.postCiphertext(pnid, await this.encrypt(pnid, message));
  }

  sendText(pnid: string, text: string): Promise<Answer> {
    return this.send(pnid, { type: 'text', text: { body: text } });
  }

  /** Reads and decrypts new inbox messages (advances the cursor). */
  async inbox(waitMs = 0): Promise<InboxMessage[]> {
    const answer = await call(this.server, 'GET', `/transport/v1/inbox?after=${this.cursor}&limit=1000&wait_ms=${waitMs}`, this.token);
    if (answer.status !== 200) throw new Error(`inbox: ${answer.status} ${answer.text}`);
    this.cursor = answer.body.cursor;
    const out: InboxMessage[] = [];
    for (const m of answer.body.messages as { id: string; from: string; type: 2 | 3; body: string }[]) {
      const plaintext = await this.peer.decrypt({ name: m.from, deviceId: 1 }, { type: m.type, body: fromBase64(m.body) });
      out.push({ id: m.id, from: m.from, type: m.type, plaintext: JSON.parse(new TextDecoder().decode(plaintext)) });
    }
    return out;
  }

  receipts(ids: string[], status: 'delivered' | 'read'): Promise<Answer> {
    return call(this.server, 'POST', '/transport/v1/receipts', this.token, { ids, status });
  }

  report(pnid: string): Promise<Answer> {
    return call(this.server, 'POST', '/transport/v1/reports', this.token, { business: pnid, reason: 'spam' });
  }
}

/** Polls `condition` (wall clock) until true or the deadline; for background deliveries. */
export async function eventually(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await condition()) return;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
