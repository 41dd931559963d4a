/**
 * Transport face: user devices (transport-api.md §1, models the WhatsApp client link).
 *
 * Every handler checks its whole input first and changes nothing when it refuses.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Ciphertext } from '../signal/index.js';
import { recordKey } from '../store/store.js';
import { statusRecord } from './status-records.js';
import type { BusinessEntry } from './business-directory.js';
import type { DeviceEntry } from './device-directory.js';
import { parseOneTimeKeys, parseSignedKey, EC_PUBLIC_KEY_LENGTH, KYBER_PUBLIC_KEY_LENGTH } from './device-directory.js';
import { GraphError } from './graph-error.js';
import { bearerToken, readJsonObject, sendEmpty, sendJson, tokensEqual } from './http-exchange.js';
import {
  isObject,
  jsonShapeProblem,
  maxMessageObjectBytes,
  optionalString,
  requireArray,
  requireBase64,
  requireInteger,
  requireString,
  parseWaId,
} from './request-fields.js';
import { toBase64 } from '../encoding/base64.js';
import type { ServerContext } from './server-context.js';
import { newWamid, wamidPhoneNumberId } from './wamid.js';

const fromUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Largest Signal message body accepted (a PreKey message with Kyber is ~1.8 kB plus the payload). */
const maxCiphertextBytes = 256 * 1024;

async function deviceFor(context: ServerContext, request: IncomingMessage): Promise<DeviceEntry> {
  const token = bearerToken(request);
  if (token === undefined) throw new GraphError('auth', 'a device token is required (Authorization: Bearer <device token>)');
  const device = await context.devices.byToken(token);
  if (device === undefined) throw new GraphError('auth', 'unknown or revoked device token');
  return device;
}

function knownPhoneNumberId(text: string, field: string): string {
  if (!/^[0-9]{1,20}$/.test(text)) throw new GraphError('invalid-parameter', `${field} must be a phone_number_id`);
  return text;
}

async function businessFor(context: ServerContext, phoneNumberId: string, field: string): Promise<BusinessEntry> {
  const business = await context.businesses.byId(knownPhoneNumberId(phoneNumberId, field));
  if (business === undefined) throw new GraphError('invalid-parameter', `${field}: no business with this phone_number_id`);
  return business;
}

/** `POST /transport/v1/devices` */
export async function registerDevice(context: ServerContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const token = bearerToken(request);
  if (token === undefined || !tokensEqual(token, context.registrationToken)) throw new GraphError('auth', 'the registration token is required');
  const source = request.socket.remoteAddress ?? 'unknown';
  context.registrationLimits.take(source);
  try {
    await register(context, request, response);
  } catch (error) {
    context.registrationLimits.giveBack(source); // refused: nothing stored, nothing counted
    throw error;
  }
}

async function register(context: ServerContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const body = await readJsonObject(request);
  const waId = parseWaId(requireString(body, 'wa_id', 16));
  const deviceId = requireInteger(body, 'device_id', 1, 127);
  const registrationId = requireInteger(body, 'registration_id', 1, 0x3fff);
  const identityKey = requireBase64(body, 'identity_key', EC_PUBLIC_KEY_LENGTH);
  const signedPreKey = parseSignedKey(body, 'signed_pre_key', EC_PUBLIC_KEY_LENGTH);
  const kyberPreKey = parseSignedKey(body, 'kyber_pre_key', KYBER_PUBLIC_KEY_LENGTH);
  const oneTimePreKeys = body['one_time_pre_keys'] === undefined ? [] : parseOneTimeKeys(body, 'one_time_pre_keys');
  const deviceToken = await context.devices.register({
    waId,
    deviceId,
    keys: { registrationId, identityKey, signedPreKey, kyberPreKey },
    oneTimePreKeys,
  });
  context.registeredUsersChanged();
  sendJson(response, 201, { device_token: deviceToken });
}

/** `PUT /transport/v1/devices/self/pre_keys` */
export async function replenishPreKeys(context: ServerContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const device = await deviceFor(context, request);
  const body = await readJsonObject(request);
  const oneTimePreKeys = body['one_time_pre_keys'] === undefined ? [] : parseOneTimeKeys(body, 'one_time_pre_keys');
  const update: Parameters<typeof context.devices.updateKeys>[1] = { oneTimePreKeys };
  if (body['signed_pre_key'] !== undefined) update.signedPreKey = parseSignedKey(body, 'signed_pre_key', EC_PUBLIC_KEY_LENGTH);
  if (body['kyber_pre_key'] !== undefined) update.kyberPreKey = parseSignedKey(body, 'kyber_pre_key', KYBER_PUBLIC_KEY_LENGTH);
  await context.devices.updateKeys(device, update, context.resourceLimits.oneTimePreKeysPerDevice);
  sendEmpty(response, 204);
}

/** `GET /transport/v1/businesses/{phone_number_id}/bundle` */
export async function businessBundle(context: ServerContext, request: IncomingMessage, response: ServerResponse, phoneNumberId: string): Promise<void> {
  const device = await deviceFor(context, request);
  const business = await businessFor(context, phoneNumberId, 'phone_number_id');
  const { bundle, oneTime } = await context.businessKeys.bundle(business.record);
  if (oneTime !== undefined) await context.sessions.recordIssuedPreKey(business, device, oneTime);
  sendJson(response, 200, {
    address: { name: business.record.phone_number_id, device_id: 1 },
    registration_id: bundle.registrationId,
    identity_key: toBase64(bundle.identityKey),
    signed_pre_key: { id: bundle.signedPreKeyId, public_key: toBase64(bundle.signedPreKey), signature: toBase64(bundle.signedPreKeySignature) },
    kyber_pre_key: { id: bundle.kyberPreKeyId, public_key: toBase64(bundle.kyberPreKey), signature: toBase64(bundle.kyberPreKeySignature) },
    one_time_pre_key:
      bundle.oneTimePreKeyId !== undefined && bundle.oneTimePreKey !== undefined
        ? { id: bundle.oneTimePreKeyId, public_key: toBase64(bundle.oneTimePreKey) }
        : null,
  });
}

/** The decrypted plaintext must be one Cloud API message object (transport-api.md §1). */
function parseUserMessage(plaintext: Uint8Array): { type: string } & Record<string, unknown> {
  if (plaintext.length > maxMessageObjectBytes) throw new GraphError('parameter-value', `the decrypted plaintext is larger than ${maxMessageObjectBytes} bytes`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fromUtf8.decode(plaintext));
  } catch {
    throw new GraphError('parameter-value', 'the decrypted plaintext is not UTF-8 JSON');
  }
  if (!isObject(parsed)) throw new GraphError('parameter-value', 'the decrypted plaintext must be a JSON message object');
  const problem = jsonShapeProblem(parsed);
  if (problem !== undefined) throw new GraphError('parameter-value', `the decrypted plaintext: ${problem}`);
  const type = parsed['type'];
  if (typeof type !== 'string' || !/^[a-z_]{1,32}$/.test(type)) throw new GraphError('parameter-value', 'the message object needs a "type"');
  if (type === 'text') {
    const text = parsed['text'];
    if (!isObject(text) || typeof text['body'] !== 'string') throw new GraphError('parameter-value', 'a text message needs text.body');
  }
  return parsed as { type: string } & Record<string, unknown>;
}

/** `POST /transport/v1/messages` */
export async function receiveMessage(context: ServerContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const device = await deviceFor(context, request);
  const body = await readJsonObject(request);
  const to = requireString(body, 'to', 20);
  const type = requireInteger(body, 'type', 2, 3) as Ciphertext['type'];
  const ciphertext: Ciphertext = { type, body: requireBase64(body, 'body', undefined, maxCiphertextBytes) };
  const business = await businessFor(context, to, 'to');
  const pnid = business.record.phone_number_id;
  const { throughput_mps: mps } = business.profile;
  // Taken now, given back if the message is refused later (undecryptable, queue full, store down).
  const undoLimits = await context.sendGate.admitInbound(pnid, mps, context.clock.now());
  const waId = device.record.wa_id;
  const wamid = await context.sessions.decryptInbound(
    business,
    device,
    ciphertext,
    (plaintext) => ({ message: parseUserMessage(plaintext), wamid: newWamid(pnid) }),
    async ({ message, wamid }) => {
      const nowMs = context.clock.now();
      // Queue the webhook first: a full queue refuses the message before anything is stored.
      if (business.profile.webhook_url !== '') {
        await context.webhooks.enqueueMessage(business.record, { wa_id: waId, id: wamid, timestamp_ms: nowMs, message });
      }
      await context.store.appendMessages([
        {
          phone_number_id: pnid,
          id: wamid,
          wa_id: waId,
          created_at_ms: nowMs,
          sealed: context.atRest.sealJsonForBusiness(business.record, 'message', recordKey.message(pnid, wamid), {
            from: waId,
            device_id: device.record.device_id,
            timestamp_ms: nowMs,
            message,
          }),
        },
      ]);
      context.metrics.messagesInbound.inc();
    },
  ).catch(async (error: unknown) => {
    await undoLimits().catch(() => {});
    throw error;
  });
  sendJson(response, 202, { id: wamid.wamid });
}

/** `GET /transport/v1/inbox?after&limit&wait_ms` */
export async function readInbox(context: ServerContext, request: IncomingMessage, response: ServerResponse, query: URLSearchParams): Promise<void> {
  const device = await deviceFor(context, request);
  const integer = (name: string, fallback: number, min: number, max: number): number => {
    const text = query.get(name);
    if (text === null || text === '') return fallback;
    if (!/^[0-9]{1,16}$/.test(text)) throw new GraphError('invalid-parameter', `${name} must be a non-negative integer`);
    const value = Number(text);
    if (value < min || value > max) throw new GraphError('parameter-value', `${name} must be between ${min} and ${max}`);
    return value;
  };
  const after = integer('after', 0, 0, Number.MAX_SAFE_INTEGER);
  const limit = integer('limit', 100, 1, 1000);
  const waitMs = integer('wait_ms', 0, 0, context.longPollMaxMs);
  const { wa_id: waId, device_id: deviceId } = device.record;
  const pageBytes = context.resourceLimits.inboxPageBytes;
  let page = await context.store.readInbox(waId, deviceId, after, limit, pageBytes);
  if (page.entries.length === 0 && waitMs > 0 && !context.closing.aborted) {
    const address = recordKey.device(waId, deviceId);
    const cap = context.resourceLimits.longPollsPerDevice;
    if (context.waiters.countOf(address) >= cap) throw new GraphError('too-many-calls', `this device already has ${cap} long-polls waiting`);
    // Server shutdown wakes every waiter (InboxWaiters.wakeAll), so no listener per poll on
    // `context.closing` (a dozen of them would trip MaxListenersExceededWarning).
    const gone = new AbortController();
    const onClose = (): void => gone.abort();
    request.socket.once('close', onClose);
    try {
      await context.waiters.wait(address, waitMs, gone.signal);
    } finally {
      request.socket.off('close', onClose);
    }
    if (gone.signal.aborted && response.destroyed) return;
    page = await context.store.readInbox(waId, deviceId, after, limit, pageBytes);
  }
  const messages = [];
  for (const entry of page.entries) {
    const business = await context.businesses.byId(entry.phone_number_id);
    if (business === undefined) continue;
    const opened = context.atRest.openForBusiness(business.record, 'inbox', recordKey.inbox(waId, deviceId, entry.id), entry.sealed);
    messages.push({
      id: entry.id,
      from: entry.phone_number_id,
      type: opened[0],
      body: toBase64(opened.subarray(1)),
      timestamp: String(Math.floor(entry.created_at_ms / 1000)),
    });
  }
  sendJson(response, 200, { messages, cursor: page.cursor });
}

const statusRank: Record<string, number> = { sent: 1, delivered: 2, read: 3 };

/** `POST /transport/v1/receipts` */
export async function receiveReceipts(context: ServerContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const device = await deviceFor(context, request);
  const body = await readJsonObject(request);
  const status = requireString(body, 'status', 16);
  if (status !== 'delivered' && status !== 'read') throw new GraphError('parameter-value', 'status must be "delivered" or "read"');
  const ids = requireArray(body, 'ids', 1000);
  if (ids.length === 0) throw new GraphError('required-parameter', 'ids must name at least one message');
  const waId = device.record.wa_id;
  // Check every id first: each must be a message of ours sent to this user.
  const targets: { business: BusinessEntry; wamid: string; skip: boolean }[] = [];
  const seen = new Set<string>();
  for (const [index, id] of ids.entries()) {
    const pnid = wamidPhoneNumberId(id);
    if (pnid === undefined || typeof id !== 'string') throw new GraphError('parameter-value', `ids[${index}] is not a message id`);
    if (seen.has(id)) continue;
    seen.add(id);
    const business = await context.businesses.byId(pnid);
    const history = business === undefined ? [] : await context.store.listStatuses(pnid, id);
    if (business === undefined || !history.some((s) => s.status === 'sent' && s.wa_id === waId)) {
      throw new GraphError('parameter-value', `ids[${index}] is not a message sent to this user`);
    }
    const best = Math.max(0, ...history.map((s) => statusRank[s.status] ?? 0));
    targets.push({ business, wamid: id, skip: best >= statusRank[status]! });
  }
  const nowMs = context.clock.now();
  const byBusiness = new Map<string, { business: BusinessEntry; wamids: string[] }>();
  for (const t of targets) {
    if (t.skip) continue; // statuses only move forward (M-WHSTAT: delivered may be skipped)
    const pnid = t.business.record.phone_number_id;
    let group = byBusiness.get(pnid);
    if (group === undefined) byBusiness.set(pnid, (group = { business: t.business, wamids: [] }));
    group.wamids.push(t.wamid);
  }
  for (const { business, wamids } of byBusiness.values()) {
    const pnid = business.record.phone_number_id;
    const events = wamids.map((id) => ({ id, status, timestamp_ms: nowMs, recipient_id: waId }) as const);
    if (business.profile.webhook_url !== '') await context.webhooks.enqueueStatuses(business.record, events);
    const records = events.map((e) => statusRecord(context.atRest, business.record, e));
    await context.store.recordStatuses(records);
    await context.sendGate.recordReached(pnid, waId, nowMs);
  }
  sendEmpty(response, 204);
}

/** `POST /transport/v1/reports` */
export async function receiveReport(context: ServerContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const device = await deviceFor(context, request);
  const body = await readJsonObject(request);
  const business = await businessFor(context, requireString(body, 'business', 20), 'business');
  const reason = optionalString(body, 'reason', 32) ?? 'spam';
  if (reason !== 'spam') throw new GraphError('parameter-value', 'reason must be "spam"');
  const nowMs = context.clock.now();
  // Always stops the business's messages to this user; counts toward its quality only when the
  // business reached the user (spam-guard.ts rule 2, docs/server.md "Spam reports").
  await context.store.reportSpam(business.record.phone_number_id, device.record.wa_id, nowMs);
  const counted = await context.sendGate.recordReport(business.record.phone_number_id, device.record.wa_id, nowMs);
  context.metrics.countReport(counted);
  sendEmpty(response, 204);
}

