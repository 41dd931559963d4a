/**
 * Webhook payloads in the Cloud API shape (cloud-api.md §2): `{object:"whatsapp_business_account",
 * entry:[{id:<waba_id>, changes:[{field:"messages", value:{messaging_product, metadata,
 * contacts+messages | statuses}}]}]}`, and the events they carry.
 *
 * Ids: a message's `id` is its wamid; a status object carries the wamid of the message it is
 * about, so a receiver that sees a retry can dedupe on (id, status).
 */
import type { MessageStatus } from '../store/store.js';

/** What the webhook needs to know about the business (from its profile). */
export interface WebhookBusiness {
  readonly phone_number_id: string;
  readonly waba_id: string;
  readonly display_phone_number: string;
}

/** An inbound user message, as the webhook reports it (M-WHTEXT). */
export interface InboundMessageEvent {
  /** The sender. */
  readonly wa_id: string;
  readonly profile_name?: string;
  /** wamid. */
  readonly id: string;
  readonly timestamp_ms: number;
  /** The Cloud API message object the user sent, e.g. `{type:"text", text:{body:"hi"}}`. */
  readonly message: { readonly type: string } & Record<string, unknown>;
}

/** A webhook error object (M-WHERR, M-WHSTAT `statuses[].errors`). */
export interface WebhookErrorObject {
  readonly code: number;
  readonly title: string;
  readonly message?: string;
  readonly error_data?: { readonly details: string };
  readonly href?: string;
}

/** A status update of an outbound message (M-WHSTAT). */
export interface StatusEvent {
  /** wamid of the message. */
  readonly id: string;
  readonly status: MessageStatus;
  readonly timestamp_ms: number;
  /** The user's wa_id. */
  readonly recipient_id: string;
  readonly biz_opaque_callback_data?: string;
  readonly pricing?: Record<string, unknown>;
  readonly errors?: readonly WebhookErrorObject[];
}

export interface WebhookPayload {
  readonly object: 'whatsapp_business_account';
  readonly entry: readonly {
    readonly id: string;
    readonly changes: readonly { readonly field: 'messages'; readonly value: Record<string, unknown> }[];
  }[];
}

const unixSeconds = (ms: number): string => String(Math.floor(ms / 1000));

function envelope(business: WebhookBusiness, value: Record<string, unknown>): WebhookPayload {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: business.waba_id,
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: business.display_phone_number, phone_number_id: business.phone_number_id },
              ...value,
            },
          },
        ],
      },
    ],
  };
}

/** A `messages` webhook: `value.contacts[]` (one per distinct sender) and `value.messages[]` (M-WHTEXT). */
export function buildMessagesPayload(business: WebhookBusiness, messages: readonly InboundMessageEvent[]): WebhookPayload {
  const contacts = new Map<string, Record<string, unknown>>();
  for (const m of messages) {
    if (!contacts.has(m.wa_id)) contacts.set(m.wa_id, { profile: { name: m.profile_name ?? '' }, wa_id: m.wa_id });
  }
  return envelope(business, {
    contacts: [...contacts.values()],
    messages: messages.map((m) => ({ ...m.message, from: m.wa_id, id: m.id, timestamp: unixSeconds(m.timestamp_ms) })),
  });
}

/** A `statuses` webhook (M-WHSTAT). */
export function buildStatusesPayload(business: WebhookBusiness, statuses: readonly StatusEvent[]): WebhookPayload {
  return envelope(business, {
    statuses: statuses.map((s) => {
      const out: Record<string, unknown> = { id: s.id, status: s.status, timestamp: unixSeconds(s.timestamp_ms), recipient_id: s.recipient_id };
      if (s.biz_opaque_callback_data !== undefined) out['biz_opaque_callback_data'] = s.biz_opaque_callback_data;
      if (s.pricing !== undefined) out['pricing'] = s.pricing;
      if (s.errors !== undefined) out['errors'] = s.errors;
      return out;
    }),
  });
}
