/**
 * Business face: `POST /{version}/{phone_number_id}/messages` (transport-api.md §2, models the
 * Cloud API send endpoint, cloud-api.md §1).
 *
 * Order (transport-api.md §2, cloud-api.md §7): token (190) → validation (100, 131008, 131009,
 * 131051) → throughput (130429) → pair rate (131056) → service window (131047) → messaging-limit
 * tier (131049) → spam guard (131048). All checks run before anything changes; then the send is
 * accepted, encrypted for every device of the user, and reported by `sent` (or `failed`) status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { StoreError, recordKey } from '../store/store.js';
import { jsonBytes } from './at-rest.js';
import type { BusinessEntry } from './business-directory.js';
import { GraphError, webhookErrorObject } from './graph-error.js';
import { bearerToken, readJsonObject, sendJsonText } from './http-exchange.js';
import type { StatusEvent } from './webhook-payloads.js';
import {
  isObject,
  maxMessageObjectBytes,
  optionalString,
  parseWaId,
  requireObject,
  requireString,
} from './request-fields.js';
import type { ServerContext } from './server-context.js';
import { statusRecord } from './status-records.js';
import { newWamid } from './wamid.js';

/** Message types the Cloud API knows but this model does not send (131051). */
const knownUnsupportedTypes = new Set(['image', 'audio', 'video', 'document', 'sticker', 'location', 'contacts', 'interactive', 'reaction']);

export interface OutboundMessage {
  readonly input: string;
  readonly waId: string;
  readonly isTemplate: boolean;
  /** The Cloud API message object that is encrypted for the user's devices. */
  readonly messageObject: Record<string, unknown>;
  readonly bizOpaqueCallbackData?: string;
}

/** Validates a send body (cloud-api.md §1 "Body fields"). */
export function parseOutboundMessage(body: Record<string, unknown>): OutboundMessage {
  const product = requireString(body, 'messaging_product', 32);
  if (product !== 'whatsapp') throw new GraphError('parameter-value', 'messaging_product must be "whatsapp"');
  const recipientType = optionalString(body, 'recipient_type', 32) ?? 'individual';
  if (recipientType !== 'individual') throw new GraphError('parameter-value', 'only recipient_type "individual" is supported');
  const input = requireString(body, 'to', 32);
  const waId = parseWaId(input.replace(/[\s()-]/g, ''), 'to');
  const type = optionalString(body, 'type', 32) ?? 'text';
  const messageObject: Record<string, unknown> = { type };
  if (type === 'text') {
    const text = requireObject(body, 'text');
    const textBody = requireString(text, 'body', 4096);
    if (textBody.length === 0) throw new GraphError('parameter-value', 'text.body must not be empty');
    const previewUrl = text['preview_url'];
    if (previewUrl !== undefined && typeof previewUrl !== 'boolean') throw new GraphError('invalid-parameter', 'text.preview_url must be a boolean');
    messageObject['text'] = previewUrl === undefined ? { body: textBody } : { body: textBody, preview_url: previewUrl };
  } else if (type === 'template') {
    const template = requireObject(body, 'template');
    const name = requireString(template, 'name', 512);
    if (!/^[a-z0-9_]{1,512}$/.test(name)) throw new GraphError('parameter-value', 'template.name must be lowercase letters, digits and underscores');
    const language = requireObject(template, 'language');
    const code = requireString(language, 'code', 16);
    if (!/^[a-z]{2,3}(_[A-Z]{2})?$/.test(code)) throw new GraphError('parameter-value', 'template.language.code must look like en or en_US');
    const components = template['components'];
    if (components !== undefined && !Array.isArray(components)) throw new GraphError('invalid-parameter', 'template.components must be an array');
    if (Array.isArray(components) && !components.every(isObject)) throw new GraphError('invalid-parameter', 'template.components must hold objects');
    messageObject['template'] = components === undefined ? { name, language: { code } } : { name, language: { code }, components };
  } else if (knownUnsupportedTypes.has(type)) {
    throw new GraphError('unsupported-type', `type "${type}" is not supported by this reference server (text and template are)`);
  } else {
    throw new GraphError('parameter-value', `unknown message type "${type}"`);
  }
  const context = body['context'];
  if (context !== undefined) {
    if (!isObject(context)) throw new GraphError('invalid-parameter', 'context must be an object');
    messageObject['context'] = { message_id: requireString(context, 'message_id', 128) };
  }
  const bizOpaqueCallbackData = optionalString(body, 'biz_opaque_callback_data', 512);
  return {
    input,
    waId,
    isTemplate: type === 'template',
    messageObject,
    ...(bizOpaqueCallbackData !== undefined ? { bizOpaqueCallbackData } : {}),
  };
}

async function businessFor(context: ServerContext, request: IncomingMessage, phoneNumberId: string): Promise<BusinessEntry> {
  const token = bearerToken(request);
  if (token === undefined) throw new GraphError('auth', 'an access token is required (Authorization: Bearer <access token>)');
  const business = await context.businesses.byToken(token);
  if (business === undefined) throw new GraphError('auth', 'Invalid OAuth access token');
  if (business.record.phone_number_id !== phoneNumberId) {
    throw new GraphError('permission', 'the access token does not grant access to this phone number');
  }
  return business;
}

/** `POST /{version}/{phone_number_id}/messages` */
export async function sendMessage(context: ServerContext, request: IncomingMessage, response: ServerResponse, phoneNumberId: string): Promise<void> {
  const business = await businessFor(context, request, phoneNumberId);
  const message = parseOutboundMessage(await readJsonObject(request));
  const plaintext = jsonBytes(message.messageObject);
  if (plaintext.length > maxMessageObjectBytes) {
    throw new GraphError('parameter-value', `the message is ${plaintext.length} bytes as JSON; at most ${maxMessageObjectBytes} are accepted`);
  }
  const pnid = business.record.phone_number_id;
  const { waId } = message;

  // --- limits, in order; nothing changes unless all passed (send-gate.ts) ----------------------
  const conversation = await context.store.getConversation(pnid, waId);
  const nowMs = context.clock.now();
  const intent = {
    phoneNumberId: pnid,
    waId,
    isTemplate: message.isTemplate,
    lastInboundMs: conversation?.last_inbound_ms ?? null,
    throughputMps: business.profile.throughput_mps,
    tier: business.profile.messaging_limit,
  };
  const registeredUsers = await context.registeredUsers();
  // Checked and taken at once (so concurrent sends, on any process with shared limits, see
  // them); given back if the send is refused later in its path (a store failure), so a refused
  // send leaves no limit state.
  const undoLimits = await context.sendGate.admitOutbound({ ...intent, reported: conversation?.reported_spam_ms != null, registeredUsers }, nowMs);
  try {
    await deliver(context, business, message, plaintext, response);
  } catch (error) {
    await undoLimits().catch(() => {});
    throw error;
  }
  context.metrics.countOutbound(message.isTemplate ? 'template' : 'text');
}

/** Encrypts an accepted send for every device of the user, stores it, reports it, answers 200. */
async function deliver(context: ServerContext, business: BusinessEntry, message: OutboundMessage, plaintext: Uint8Array, response: ServerResponse): Promise<void> {
  const pnid = business.record.phone_number_id;
  const { waId } = message;
  const wamid = newWamid(pnid);
  const devices = await context.devices.devicesOf(waId);
  // Every device at once: with the session-crypto thread their jobs share a batch, and the
  // entries go to the store in one append.
  const sealedEntries = await Promise.all(
    devices.map((device) =>
      context.sessions.encryptToInbox(business, device, plaintext, wamid).catch(() => undefined), // one device failing (e.g. unusable keys) does not stop the others
    ),
  );
  const createdAtMs = context.clock.now();
  const entries = devices.flatMap((device, i) => {
    const sealed = sealedEntries[i];
    return sealed === undefined ? [] : [{ phone_number_id: pnid, wa_id: waId, device_id: device.record.device_id, id: wamid, created_at_ms: createdAtMs, sealed }];
  });
  let cursors: { address: string }[] = [];
  try {
    if (entries.length > 0) await context.store.appendInbox(entries);
    cursors = entries.map((e) => ({ address: recordKey.device(waId, e.device_id) }));
  } catch {
    // Not stored: reported `failed` below, as a send that reaches no device.
  }
  const status: StatusEvent =
    cursors.length > 0
      ? { id: wamid, status: 'sent', timestamp_ms: context.clock.now(), recipient_id: waId }
      : {
          id: wamid,
          status: 'failed',
          timestamp_ms: context.clock.now(),
          recipient_id: waId,
          errors: [
            webhookErrorObject(
              'undeliverable',
              devices.length === 0 ? 'the user has no registered device' : 'the message could not be encrypted for any of the user’s devices',
            ),
          ],
        };
  const withCallback: StatusEvent = message.bizOpaqueCallbackData !== undefined ? { ...status, biz_opaque_callback_data: message.bizOpaqueCallbackData } : status;
  await context.store.recordStatuses([statusRecord(context.atRest, business.record, withCallback)]);
  try {
    // A business without a callback URL has nowhere to get webhooks: nothing is queued.
    if (business.profile.webhook_url !== '') await context.webhooks.enqueueStatuses(business.record, [withCallback]);
  } catch (error) {
    // The message is already in the inboxes: answering an error would make the business resend
    // it. A full queue is counted by the dispatcher (`refused`, /metrics) instead.
    if (!(error instanceof StoreError && error.kind === 'queue-full')) throw error;
  }
  if (cursors.length > 0) await context.sendGate.recordReached(pnid, waId, context.clock.now());
  for (const { address } of cursors) context.waiters.notify(address);
  // The same bytes as JSON.stringify of { messaging_product, contacts: [{ input, wa_id }],
  // messages: [{ id, message_status }] } (cloud-api.md §1 response), templated (cheaper; docs/measurements.md).
  sendJsonText(
    response,
    200,
    `{"messaging_product":"whatsapp","contacts":[{"input":${JSON.stringify(message.input)},"wa_id":${JSON.stringify(waId)}}],"messages":[{"id":${JSON.stringify(wamid)},"message_status":"accepted"}]}`,
  );
}
