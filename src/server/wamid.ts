/**
 * Message ids: `wamid.` + base64url of a small binary record (cloud-api.md §1 "wamid format":
 * opaque, ~50–60 characters after the prefix; Meta's decode to the recipient's digits and a
 * message key). Ours is `phone_number_id ‖ 0x00 ‖ 24 random bytes`, so a receipt from a device
 * can be routed to the business that sent the message without a global index. Clients must
 * treat it as opaque.
 */
import { randomBytes } from 'node:crypto';

/** Random bytes drawn 4 KiB at a time: one CSPRNG call per ~170 message ids. */
let randomPool = Buffer.alloc(0);
let randomPoolAt = 0;

function random24(into: Buffer, at: number): void {
  if (randomPoolAt + 24 > randomPool.length) {
    randomPool = randomBytes(4096);
    randomPoolAt = 0;
  }
  randomPool.copy(into, at, randomPoolAt, randomPoolAt + 24);
  randomPoolAt += 24;
}

export function newWamid(phoneNumberId: string): string {
  const pnidLength = phoneNumberId.length;
  const record = Buffer.allocUnsafe(pnidLength + 25);
  record.write(phoneNumberId, 0, 'latin1');
  record[pnidLength] = 0;
  random24(record, pnidLength + 1);
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
