/**
 * The session-crypto thread of the reference server (src/server/session-crypto-thread.ts):
 * per batch of sends from the event loop, open (or take from its cache) each device's session
 * slot, encrypt the message and seal the new slot and the inbox entry
 * (src/server/outbound-encryption.ts). It touches no store: the event loop writes what comes
 * back, by compare-and-set, under the session's lock.
 *
 * Batches arrive in a shared ring and results go back in another (src/server/shared-ring.ts).
 * After a batch the thread keeps looking for the next for `spinMicros`, then, for a few
 * milliseconds after its last work, polls every `pollMicros` (a timed wait that no writer has to
 * end), and only then sleeps until woken: waking a sleeping thread is what costs the writer.
 *
 * Cache: the slot this thread last sealed per session. A job without stored bytes uses it (the
 * event loop sends the stored bytes whenever the store holds anything else: another process
 * wrote, a write was refused, the slot was deleted and made again); a job whose session is not
 * cached is declined and done on the event loop.
 */
import { workerData } from 'node:worker_threads';
import { getBackend } from '../src/crypto/index.js';
import { IdentityKeyPair, type LocalIdentity } from '../src/signal/index.js';
import { AtRest } from '../src/server/at-rest.js';
import { encryptForInbox } from '../src/server/outbound-encryption.js';
import type { SessionCryptoJob, SessionCryptoResult, SessionCryptoWorkerData } from '../src/server/session-crypto-job.js';
import { decodeBatch, encodeReply } from '../src/server/session-crypto-wire.js';
import { decodeSessionSlot, type SessionSlot } from '../src/server/session-slot.js';
import { SharedRing } from '../src/server/shared-ring.js';

const data = workerData as SessionCryptoWorkerData;
const backend = getBackend(data.backend);
const atRest = new AtRest({ backend });
const slots = new Map<string, SessionSlot>();
const businesses = new Map<string, { dataKey: Uint8Array; local: LocalIdentity }>();

function run(job: SessionCryptoJob): SessionCryptoResult {
  try {
    const business = businesses.get(job.pnid);
    if (business === undefined) return { id: job.id, outcome: 'declined', reason: 'business keys not sent' };
    const slot = job.storedSlot !== undefined ? decodeSessionSlot(atRest.open(business.dataKey, 'session', job.sessionKey, job.storedSlot)) : slots.get(job.sessionKey);
    slots.delete(job.sessionKey);
    if (slot === undefined) return { id: job.id, outcome: 'declined', reason: 'session not cached' };
    if (!slot.record.hasCurrentSession()) return { id: job.id, outcome: 'declined', reason: 'no current session' };
    const sealed = encryptForInbox(backend, atRest, { sessionKey: job.sessionKey, inboxKey: job.inboxKey, dataKey: business.dataKey, local: business.local, slot, plaintext: job.plaintext });
    if (slots.size >= data.cachedSlots) slots.delete(slots.keys().next().value!);
    slots.set(job.sessionKey, slot);
    return { id: job.id, outcome: 'sealed', sealedSlot: sealed.sealedSlot, sealedInbox: sealed.sealedInbox };
  } catch (error) {
    // The event loop redoes the send itself and reports a failure the usual way.
    return { id: job.id, outcome: 'declined', reason: error instanceof Error ? error.message : String(error) };
  }
}

const jobs = new SharedRing(data.jobs);
const results = new SharedRing(data.results);
/** Sleeps are bounded so a closed ring is noticed even if its wake-up is missed. */
const SLEEP_MS = 1_000;

function handle(bytes: ArrayBuffer): void {
  const batch = decodeBatch(bytes);
  for (const b of batch.businesses) {
    // Copies: the batch's bytes are views into a buffer that should not outlive the batch.
    const identity = new IdentityKeyPair(b.identityPublicKey.slice(), b.identityPrivateKey.slice());
    businesses.set(b.pnid, { dataKey: b.dataKey.slice(), local: { identity, registrationId: b.registrationId } });
  }
  const reply = new Uint8Array(encodeReply(batch.jobs.map(run)));
  // The event loop takes results as they come; if it is behind, wait for room.
  while (!results.tryWrite(reply) && !results.closed()) results.waitForRoom(results.consumed(), SLEEP_MS);
}

const spinNs = BigInt(Math.max(0, Math.round(data.spinMicros * 1000)));
/** After work, the thread polls (a timed wait no writer has to end) for this long before it sleeps. */
const POLL_WINDOW_NS = 5_000_000n;
const POLL_MS = data.pollMicros / 1000;
let lastWork = 0n;
while (!jobs.closed()) {
  const seen = jobs.published();
  let bytes: ArrayBuffer | undefined;
  while ((bytes = jobs.read()) !== undefined) {
    handle(bytes);
    lastWork = process.hrtime.bigint();
  }
  if (spinNs > 0n) {
    const until = process.hrtime.bigint() + spinNs;
    while (jobs.published() === seen && process.hrtime.bigint() < until) {
      // looking for the next batch
    }
  }
  if (jobs.published() !== seen) continue;
  if (POLL_MS > 0 && process.hrtime.bigint() - lastWork < POLL_WINDOW_NS) jobs.pollForRecord(seen, POLL_MS);
  else jobs.waitForRecord(seen, SLEEP_MS);
}
