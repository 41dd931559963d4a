/**
 * Message ids: `wamid.` + base64url of a small binary record (cloud-api.md §1 "wamid format":
 * opaque, ~50–60 characters after the prefix; Meta's decode to the recipient's digits and a
 * message key). Ours is `phone_number_id ‖ 0x00 ‖ 24 random bytes`, so a receipt from a device
 * can be routed to the business that sent the message without a global index. Clients must
 * treat it as opaque.
 */
import { randomBytes } from 'node:crypto';

export function newWamid(phoneNumberId: string): string {
  const pnid = Buffer.from(phoneNumberId, 'latin1');
  const record = Buffer.allocUnsafe(pnid.length + 25);
  pnid.copy(record, 0);
  record[pnid.length] = 0;
  randomBytes(24).copy(record, pnid.length + 1);
  return `wamid.${record.toString('base64url')}`;
}

/** The phone_number_id a wamid of ours names, or undefined for anything else. */
export function wamidPhoneNumberId(wamid: unknown): string | undefined {
  if (typeof wamid !== 'string' || wamid.length > 128 || !wamid.startsWith('wamid.')) return undefined;
  const text = wamid.slice(6);
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  const record = Buffer.from(text, 'base64url');
  const zero = record.indexOf(0);
  if (zero <= 0 || record.length - zero - 1 !== 24) return undefined;
  const pnid = record.subarray(0, zero).toString('latin1');
  return /^[0-9]{1,20}$/.test(pnid) ? pnid : undefined;
}
