/**
 * Operator face: business management and test control (transport-api.md §3). Every call needs
 * `Authorization: Bearer <admin token>`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DEFAULT_REGION, isRegion, type Region } from '../store/store.js';
import { auditNdjson } from './audit.js';
import { GraphError } from './graph-error.js';
import { bearerToken, readJsonObject, sendJson, tokensEqual } from './http-exchange.js';
import { optionalInteger, optionalString, requireInteger, requireString } from './request-fields.js';
import { isMessagingLimitTier, type MessagingLimitTier } from './send-limits.js';
import type { ServerContext } from './server-context.js';
import { verifyCallback } from './webhook-signature.js';
import { VirtualClock } from './clock.js';

/** Throws 190 unless the request carries the admin token. */
export function requireAdmin(context: ServerContext, request: IncomingMessage): void {
  const token = bearerToken(request);
  if (token === undefined || !tokensEqual(token, context.adminToken)) throw new GraphError('auth', 'the admin token is required');
}

function parseWebhookUrl(text: string): string {
  if (text === '') return '';
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new GraphError('parameter-value', 'webhook_url must be an absolute http(s) URL');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new GraphError('parameter-value', 'webhook_url must be an absolute http(s) URL');
  return url.toString();
}

/** `POST /admin/v1/businesses` */
export async function createBusiness(context: ServerContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  requireAdmin(context, request);
  const body = await readJsonObject(request);
  const displayPhoneNumber = requireString(body, 'display_phone_number', 20).replace(/^\+/, '');
  if (!/^[0-9]{5,15}$/.test(displayPhoneNumber)) throw new GraphError('parameter-value', 'display_phone_number must be 5 to 15 digits');
  const webhookUrl = parseWebhookUrl(requireString(body, 'webhook_url', 2048));
  const verifyToken = optionalString(body, 'verify_token', 256) ?? '';
  const regionText = optionalString(body, 'region', 8);
  if (regionText !== undefined && !isRegion(regionText)) throw new GraphError('parameter-value', `region must be a Local Storage region code (cloud-api.md §5), got "${regionText}"`);
  const region: Region = (regionText as Region | undefined) ?? DEFAULT_REGION;
  const throughputMps = optionalInteger(body, 'throughput_mps', 1, 100_000) ?? 80;
  const limitText = optionalString(body, 'messaging_limit', 32);
  if (limitText !== undefined && !isMessagingLimitTier(limitText)) throw new GraphError('parameter-value', 'messaging_limit must be a tier such as TIER_250 or TIER_UNLIMITED');
  const messagingLimit: MessagingLimitTier = (limitText as MessagingLimitTier | undefined) ?? 'TIER_250';
  // M-WHEP: the verification GET comes first; a callback that fails it is refused, nothing created.
  if (webhookUrl !== '' && context.verifyCallbacks && !(await verifyCallback(webhookUrl, verifyToken))) {
    throw new GraphError('parameter-value', 'webhook_url failed the hub.challenge verification');
  }
  const created = await context.businesses.create({
    display_phone_number: displayPhoneNumber,
    webhook_url: webhookUrl,
    verify_token: verifyToken,
    region,
    throughput_mps: throughputMps,
    messaging_limit: messagingLimit,
  });
  await context.businessKeys.createIdentity(created.entry.record);
  sendJson(response, 201, {
    phone_number_id: created.entry.record.phone_number_id,
    waba_id: created.entry.record.waba_id,
    access_token: created.access_token,
    app_secret: created.entry.profile.app_secret,
  });
}

/** `POST /admin/v1/clock` — 404 unless the server runs on its virtual clock. Moves every process's clock when shared. */
export async function advanceClock(context: ServerContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const clock = virtualClock(context, request);
  const body = await readJsonObject(request);
  const advanceMs = requireInteger(body, 'advance_ms', 0, 10 * 365 * 86_400_000);
  const nowMs = context.sharedClock !== undefined ? await context.sharedClock.advance(advanceMs) : clock.advance(advanceMs);
  sendJson(response, 200, { now_ms: nowMs });
}

/** `GET /admin/v1/clock` — this process's now on its virtual clock (404 on the system clock). */
export function readClock(context: ServerContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const clock = virtualClock(context, request);
  sendJson(response, 200, { now_ms: clock.now(), shared: context.sharedClock !== undefined });
  return Promise.resolve();
}

function virtualClock(context: ServerContext, request: IncomingMessage): VirtualClock {
  requireAdmin(context, request);
  const clock = context.clock;
  if (!(clock instanceof VirtualClock)) throw new GraphError('not-found', 'the server runs on the system clock; start it with --virtual-clock');
  return clock;
}

/** `POST /admin/v1/retention/sweep` */
export async function sweepRetention(context: ServerContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  requireAdmin(context, request);
  const result = await context.retention.sweepAfterNow();
  await context.forgetUserStateBefore();
  sendJson(response, 200, { messages_deleted: result.messages_deleted, user_ids_deleted: result.user_ids_deleted, duration_ms: result.duration_ms });
}

/** `GET /admin/v1/audit/records?region=` — NDJSON, streamed. */
export async function auditRecords(context: ServerContext, request: IncomingMessage, response: ServerResponse, query: URLSearchParams): Promise<void> {
  requireAdmin(context, request);
  const regions = query.getAll('region');
  if (regions.length > 1) throw new GraphError('invalid-parameter', 'region may be given once');
  const region = regions[0] ?? DEFAULT_REGION;
  if (!isRegion(region)) throw new GraphError('parameter-value', `region must be a Local Storage region code (cloud-api.md §5), got "${region}"`);
  response.writeHead(200, { 'content-type': 'application/x-ndjson' });
  for await (const line of auditNdjson(context.store, region)) {
    if (!response.write(line)) await new Promise<void>((resolve) => response.once('drain', resolve));
  }
  response.end();
}

/** `GET /metrics` */
export async function metrics(context: ServerContext, request: IncomingMessage, response: ServerResponse): Promise<void> {
  requireAdmin(context, request);
  const { contentType, body } = await context.metrics.render();
  response.writeHead(200, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  response.end(body);
}
