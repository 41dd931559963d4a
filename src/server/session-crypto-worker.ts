/**
 * The session-crypto thread of the reference server (src/server/session-crypto-thread.ts):
 * per batch of jobs from the event loop, open (or take from its cache) each device's session
 * slot, then either encrypt a business message and seal the new slot and the inbox entry
 * (src/server/outbound-encryption.ts), or decrypt a device's SignalMessage and seal the advanced
 * slot. It touches no store: the event loop writes what comes back, by compare-and-set, under
 * the session's lock (a decrypted message's slot only if the message is accepted).
 *
 * Cache: the slot this thread last sealed per session. A job without stored bytes uses it (the
 * event loop sends the stored bytes whenever the store holds anything else: another process
 * wrote, a write was refused, the slot was deleted and made again); a job whose session is not
 * cached is declined and done on the event loop.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { getBackend } from '../crypto/index.js';
import { IdentityKeyPair, decryptMessage, type LocalIdentity } from '../signal/index.js';
import { AtRest } from './at-rest.js';
import { encryptForInbox } from './outbound-encryption.js';
import type { SessionCryptoJob, SessionCryptoResult, SessionCryptoWorkerData } from './session-crypto-job.js';
import { decodeBatch, encodeReply } from './session-crypto-wire.js';
import { openSessionSlot, sealSessionSlot, type SessionSlot } from './session-slot.js';

const settings = workerData as SessionCryptoWorkerData;
const backend = getBackend(settings.backend);
const atRest = new AtRest({ backend });
const slots = new Map<string, SessionSlot>();
const businesses = new Map<string, { dataKey: Uint8Array; local: LocalIdentity }>();

function run(job: SessionCryptoJob): SessionCryptoResult {
  try {
    const business = businesses.get(job.pnid);
    if (business === undefined) return { id: job.id, outcome: 'declined', reason: 'business keys not sent' };
    const slot = job.storedSlot !== undefined ? openSessionSlot(atRest, business.dataKey, job.sessionKey, job.storedSlot) : slots.get(job.sessionKey);
    slots.delete(job.sessionKey);
    if (slot === undefined) return { id: job.id, outcome: 'declined', reason: 'session not cached' };
    let result: SessionCryptoResult;
    if (job.op === 'encrypt') {
      if (!slot.record.hasCurrentSession()) return { id: job.id, outcome: 'declined', reason: 'no current session' };
      const sealed = encryptForInbox(backend, atRest, { sessionKey: job.sessionKey, inboxKey: job.inboxKey, dataKey: business.dataKey, local: business.local, slot, plaintext: job.plaintext });
      result = { id: job.id, outcome: 'sealed', sealedSlot: sealed.sealedSlot, sealedInbox: sealed.sealedInbox };
    } else {
      // No prekey lookup: a PreKey message that starts a new session throws, as does any refused
      // message; it is declined (the event loop does it, or refuses it the usual way) and the
      // slot is dropped from the cache.
      const { plaintext } = decryptMessage(backend, business.local, slot.record, { type: job.messageType, body: job.message }, undefined, job.remoteIdentity);
      result = { id: job.id, outcome: 'opened', sealedSlot: sealSessionSlot(atRest, business.dataKey, job.sessionKey, slot), plaintext };
    }
    if (slots.size >= settings.cachedSlots) slots.delete(slots.keys().next().value!);
    slots.set(job.sessionKey, slot);
    return result;
  } catch (error) {
    // The event loop redoes the work itself and reports a failure the usual way.
    return { id: job.id, outcome: 'declined', reason: error instanceof Error ? error.message : String(error) };
  }
}

parentPort!.on('message', (bytes: ArrayBuffer) => {
  const batch = decodeBatch(bytes);
  for (const b of batch.businesses) {
    // Copies: the batch's bytes are views into a buffer that should not outlive the batch.
    const identity = new IdentityKeyPair(b.identityPublicKey.slice(), b.identityPrivateKey.slice());
    businesses.set(b.pnid, { dataKey: b.dataKey.slice(), local: { identity, registrationId: b.registrationId } });
  }
  const reply = encodeReply(batch.jobs.map(run));
  parentPort!.postMessage(reply, [reply]);
});
