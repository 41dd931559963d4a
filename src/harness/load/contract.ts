/**
 * An HTTP client for the reference server's contract (transport-api.md), nothing else: the
 * scenarios drive a server only through these calls, so `--target` works against any server
 * that speaks the contract. Binary values are base64 (standard, padded).
 */
import { KindedError } from '../../kinded-error.js';
import { fromBase64, toBase64 } from '../../encoding/base64.js';
import type { PreKeyBundle } from '../../signal/index.js';

export type ContractErrorKind = 'http-status' | 'bad-answer';

export class ContractError extends KindedError<ContractErrorKind> {
  constructor(
    kind: ContractErrorKind,
    readonly status: number,
    message: string,
    /** Graph error code when the server answered with the Graph envelope. */
    readonly code?: number,
  ) {
    super(kind, message);
  }
}

export interface ServerTarget {
  /** Origin, e.g. http://127.0.0.1:8080 (no trailing slash). */
  url: string;
  adminToken: string;
  registrationToken: string;
}

export interface CreatedBusiness {
  phone_number_id: string;
  waba_id: string;
  access_token: string;
  app_secret: string;
}

export interface BusinessSettings {
  display_phone_number: string;
  webhook_url: string;
  verify_token?: string;
  region?: string;
  throughput_mps?: number;
  messaging_limit?: string;
}

/** The device registration body of `POST /transport/v1/devices`. */
export interface DeviceRegistration {
  wa_id: string;
  device_id: number;
  registration_id: number;
  identity_key: string;
  signed_pre_key: { id: number; public_key: string; signature: string };
  kyber_pre_key: { id: number; public_key: string; signature: string };
  one_time_pre_keys: Array<{ id: number; public_key: string }>;
}

export interface BundleAnswer {
  address: { name: string; device_id: number };
  registration_id: number;
  identity_key: string;
  signed_pre_key: { id: number; public_key: string; signature: string };
  kyber_pre_key: { id: number; public_key: string; signature: string };
  one_time_pre_key: { id: number; public_key: string } | null;
}

export interface InboxMessage {
  id: string;
  from: string;
  type: 2 | 3;
  body: string;
  timestamp: string | number;
}

export interface AuditRecord {
  region: string;
  kind: string;
  key: string;
  stored_at: number | string;
  bytes: string;
}

export interface CallAnswer {
  status: number;
  text: string;
}

export interface CallRequest {
  method: string;
  /** Sent as `Authorization: Bearer <token>` when set and not empty. */
  token?: string;
  /** A JSON body (serialized here). */
  body?: unknown;
  /** A body sent as it is, with `content-type: application/json` (malformed-request tests); `body` wins when both are set. */
  rawBody?: string | Uint8Array;
}

/** One request with a bearer token; resolves with status and body text whatever the status (a transport failure rejects). */
export async function call(url: string, init: CallRequest): Promise<CallAnswer> {
  const headers: Record<string, string> = {};
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  const body = init.body !== undefined ? JSON.stringify(init.body) : init.rawBody;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(url, { method: init.method, headers, ...(body !== undefined ? { body } : {}) });
  return { status: res.status, text: await res.text() };
}

/** The registration body for a device whose identity and prekeys `bundle` carries, offering `oneTimePreKeys`. */
export function deviceRegistration(
  waId: string,
  bundle: PreKeyBundle,
  oneTimePreKeys: ReadonlyArray<{ readonly id: number; readonly publicKey: Uint8Array }>,
): DeviceRegistration {
  return {
    wa_id: waId,
    device_id: bundle.deviceId,
    registration_id: bundle.registrationId,
    identity_key: toBase64(bundle.identityKey),
    signed_pre_key: { id: bundle.signedPreKeyId, public_key: toBase64(bundle.signedPreKey), signature: toBase64(bundle.signedPreKeySignature) },
    kyber_pre_key: { id: bundle.kyberPreKeyId, public_key: toBase64(bundle.kyberPreKey), signature: toBase64(bundle.kyberPreKeySignature) },
    one_time_pre_keys: oneTimePreKeys.map((key) => ({ id: key.id, public_key: toBase64(key.publicKey) })),
  };
}

/** The one-time prekeys of `bundles` (libsignal devices hand out one per bundle). */
export function oneTimePreKeysOf(bundles: readonly PreKeyBundle[]): Array<{ id: number; publicKey: Uint8Array }> {
  return bundles.flatMap((b) => (b.oneTimePreKeyId !== undefined && b.oneTimePreKey !== undefined ? [{ id: b.oneTimePreKeyId, publicKey: b.oneTimePreKey }] : []));
}

/** The PreKeyBundle of a `GET /transport/v1/businesses/{id}/bundle` answer. */
export function bundleFromAnswer(answer: BundleAnswer): PreKeyBundle {
  const bundle: PreKeyBundle = {
    registrationId: answer.registration_id,
    deviceId: answer.address.device_id,
    identityKey: fromBase64(answer.identity_key),
    signedPreKeyId: answer.signed_pre_key.id,
    signedPreKey: fromBase64(answer.signed_pre_key.public_key),
    signedPreKeySignature: fromBase64(answer.signed_pre_key.signature),
    kyberPreKeyId: answer.kyber_pre_key.id,
    kyberPreKey: fromBase64(answer.kyber_pre_key.public_key),
    kyberPreKeySignature: fromBase64(answer.kyber_pre_key.signature),
  };
  if (answer.one_time_pre_key) {
    bundle.oneTimePreKeyId = answer.one_time_pre_key.id;
    bundle.oneTimePreKey = fromBase64(answer.one_time_pre_key.public_key);
  }
  return bundle;
}

function graphCode(text: string): number | undefined {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } }).error?.code;
    return typeof code === 'number' ? code : undefined;
  } catch {
    return undefined;
  }
}

async function expectJson<T>(what: string, answer: Promise<CallAnswer>, okStatuses: number[]): Promise<T> {
  const { status, text } = await answer;
  if (!okStatuses.includes(status)) {
    throw new ContractError('http-status', status, `${what}: HTTP ${status}: ${text.slice(0, 300)}`, graphCode(text));
  }
  if (text === '') return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ContractError('bad-answer', status, `${what}: answer is not JSON: ${text.slice(0, 200)}`);
  }
}

/** The operator and business faces (the device face is driven by the device fleet). */
export class ContractClient {
  constructor(readonly target: ServerTarget) {}

  createBusiness(settings: BusinessSettings): Promise<CreatedBusiness> {
    return expectJson('create business', call(`${this.target.url}/admin/v1/businesses`, { method: 'POST', token: this.target.adminToken, body: settings }), [200, 201]);
  }

  /** `POST /{version}/{phone_number_id}/messages`; returns the raw answer (callers judge refusals). */
  sendMessage(business: CreatedBusiness, body: Record<string, unknown>): Promise<CallAnswer> {
    return call(`${this.target.url}/v23.0/${business.phone_number_id}/messages`, {
      method: 'POST',
      token: business.access_token,
      body: { messaging_product: 'whatsapp', recipient_type: 'individual', ...body },
    });
  }

  registerDevice(registration: DeviceRegistration): Promise<{ device_token: string }> {
    return expectJson('register device', call(`${this.target.url}/transport/v1/devices`, { method: 'POST', token: this.target.registrationToken, body: registration }), [200, 201]);
  }

  /** `POST /admin/v1/clock`; undefined when the server has no virtual clock (404). */
  async advanceClock(advanceMs: number): Promise<number | undefined> {
    const answer = await call(`${this.target.url}/admin/v1/clock`, { method: 'POST', token: this.target.adminToken, body: { advance_ms: advanceMs } });
    if (answer.status === 404) return undefined;
    const parsed = await expectJson<{ now_ms: number }>('advance clock', Promise.resolve(answer), [200]);
    return parsed.now_ms;
  }

  retentionSweep(): Promise<{ messages_deleted: number; user_ids_deleted: number; duration_ms: number }> {
    return expectJson('retention sweep', call(`${this.target.url}/admin/v1/retention/sweep`, { method: 'POST', token: this.target.adminToken }), [200]);
  }

  /** `GET /admin/v1/audit/records?region=<code>` parsed from NDJSON; region '' = the default store. */
  async auditRecords(region: string): Promise<AuditRecord[]> {
    const q = region === '' ? '' : `?region=${encodeURIComponent(region)}`;
    const { status, text } = await call(`${this.target.url}/admin/v1/audit/records${q}`, { method: 'GET', token: this.target.adminToken });
    if (status !== 200) throw new ContractError('http-status', status, `audit records (${region || 'default'}): HTTP ${status}: ${text.slice(0, 200)}`);
    const out: AuditRecord[] = [];
    for (const line of text.split('\n')) {
      if (line.trim() === '') continue;
      try {
        out.push(JSON.parse(line) as AuditRecord);
      } catch {
        throw new ContractError('bad-answer', status, `audit records: bad NDJSON line: ${line.slice(0, 120)}`);
      }
    }
    return out;
  }
}
