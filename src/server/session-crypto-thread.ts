/**
 * The event loop's side of the session-crypto thread (src/server/session-crypto-worker.ts): business sends
 * on established sessions (Signal encryption, sealing of slot and inbox entry) and device
 * messages on stored sessions (Signal decryption, sealing of the advanced slot) are done on a
 * second core, so the event loop keeps to HTTP, limits and store writes.
 *
 * One batch is in flight at a time: jobs queued while the thread works go in the next batch (the
 * first after a pause is flushed by `setImmediate`, after the turn's I/O callbacks), so batches
 * grow with load and the cost of crossing threads (a MessagePort round trip costs CPU on both
 * threads; docs/measurements.md) is paid per batch, not per job. A business's keys
 * cross once. The event loop remembers which stored version of each session the
 * thread itself sealed; only for any other version are the stored bytes sent along.
 *
 * A job the thread declines (no current session, nothing cached, any failure) and every job
 * after the thread has stopped resolves to `undefined`: the caller then does the work on the
 * event loop, as it would without the thread. Closing terminates the thread.
 */
import { Worker } from 'node:worker_threads';
import type { BackendName } from '../crypto/backend.js';
import type { LocalIdentity } from '../signal/index.js';
import type { SealedOutbound } from './outbound-encryption.js';
import type { SessionCryptoBusiness, SessionCryptoJob, SessionCryptoJobBase, SessionCryptoResult, SessionCryptoWorkerData, SessionDecryptJob, SessionEncryptJob } from './session-crypto-job.js';
import { sameBytes } from './session-slot.js';
import { decodeReply, encodeBatch } from './session-crypto-wire.js';

const WORKER_FILE = new URL('./session-crypto-worker.js', import.meta.url);

export interface SessionCryptoThreadOptions {
  readonly backend: BackendName;
  /** Decoded session slots the thread keeps (default 10,000, as on the event loop). */
  readonly cachedSlots?: number;
}

/** What every job needs: the session's stored state and the business's keys. */
interface ThreadSession {
  readonly pnid: string;
  readonly sessionKey: string;
  readonly stored: { readonly sealed: Uint8Array; readonly version: number };
  readonly dataKey: Uint8Array;
  readonly local: LocalIdentity;
}

/** A send for the thread. */
export interface ThreadSend extends ThreadSession {
  readonly inboxKey: string;
  readonly plaintext: Uint8Array;
}

/** A device's message for the thread (session-crypto-job.ts SessionDecryptJob). */
export interface ThreadReceive extends ThreadSession {
  readonly messageType: 2 | 3;
  readonly message: Uint8Array;
  readonly remoteIdentity: Uint8Array;
}

/** What a decrypt job gives back: the plaintext, and the advanced slot sealed (not yet stored). */
export interface OpenedInbound {
  readonly plaintext: Uint8Array;
  readonly sealedSlot: Uint8Array;
}

/** A job without what #submit fills in. */
type JobBody = Omit<SessionEncryptJob, keyof SessionCryptoJobBase> | Omit<SessionDecryptJob, keyof SessionCryptoJobBase>;

export class SessionCryptoThread {
  readonly #worker: Worker;
  readonly #limit: number;
  readonly #pending = new Map<number, (result: SessionCryptoResult | undefined) => void>();
  /**
   * The stored version and bytes of the slot the thread sealed last, by session key (the thread
   * caches that slot). Bytes as well as version: a store may number a re-created row as before.
   */
  readonly #threadSealed = new Map<string, { readonly version: number; readonly sealed: Uint8Array }>();
  /** The keys each business was last sent with. */
  readonly #sentKeys = new Map<string, { dataKey: Uint8Array; local: LocalIdentity }>();
  #businesses: SessionCryptoBusiness[] = [];
  #jobs: SessionCryptoJob[] = [];
  #nextId = 0;
  #stopped = false;
  /** One batch at a time: what is queued meanwhile goes in the next, so batches grow with load. */
  #inFlight = false;

  constructor(options: SessionCryptoThreadOptions) {
    this.#limit = options.cachedSlots ?? 10_000;
    const workerData: SessionCryptoWorkerData = { backend: options.backend, cachedSlots: this.#limit };
    this.#worker = new Worker(WORKER_FILE, { workerData });
    this.#worker.unref();
    this.#worker.on('message', (reply: ArrayBuffer) => {
      const results = decodeReply(reply);
      this.#inFlight = false;
      if (this.#jobs.length > 0) this.#flush();
      for (const result of results) this.#settle(result.id, result);
    });
    const stop = (): void => this.#stop();
    this.#worker.once('error', stop);
    this.#worker.once('exit', stop);
  }

  /** Encrypts and seals on the thread; `undefined` means "do it on the event loop". */
  async encrypt(send: ThreadSend): Promise<SealedOutbound | undefined> {
    const result = await this.#submit(send, { op: 'encrypt', inboxKey: send.inboxKey, plaintext: send.plaintext });
    return result?.outcome === 'sealed' ? { sealedSlot: result.sealedSlot, sealedInbox: result.sealedInbox } : undefined;
  }

  /**
   * Decrypts a device's message on the thread and seals the advanced slot, which the caller stores
   * (and reports with `stored`) only if it accepts the message; `undefined` means "do it on the
   * event loop" (which also gives the refusal of a message the thread could not decrypt).
   */
  async decrypt(receive: ThreadReceive): Promise<OpenedInbound | undefined> {
    const result = await this.#submit(receive, { op: 'decrypt', messageType: receive.messageType, message: receive.message, remoteIdentity: receive.remoteIdentity });
    return result?.outcome === 'opened' ? { plaintext: result.plaintext, sealedSlot: result.sealedSlot } : undefined;
  }

  #submit(session: ThreadSession, body: JobBody): Promise<SessionCryptoResult | undefined> {
    if (this.#stopped) return Promise.resolve(undefined);
    const sent = this.#sentKeys.get(session.pnid);
    if (sent === undefined || sent.dataKey !== session.dataKey || sent.local.identity !== session.local.identity || sent.local.registrationId !== session.local.registrationId) {
      this.#sentKeys.set(session.pnid, { dataKey: session.dataKey, local: session.local });
      this.#businesses.push({
        pnid: session.pnid,
        dataKey: session.dataKey,
        registrationId: session.local.registrationId,
        identityPublicKey: session.local.identity.publicKey,
        identityPrivateKey: session.local.identity.privateKey,
      });
    }
    const id = this.#nextId++;
    const mine = this.#threadSealed.get(session.sessionKey);
    const own = mine !== undefined && mine.version === session.stored.version && sameBytes(mine.sealed, session.stored.sealed);
    // Until the caller reports what it stored, the thread's slot is not taken for the store's.
    this.#threadSealed.delete(session.sessionKey);
    if (this.#jobs.length === 0 && !this.#inFlight) setImmediate(() => this.#flush());
    this.#jobs.push({ id, pnid: session.pnid, sessionKey: session.sessionKey, ...(own ? {} : { storedSlot: session.stored.sealed }), ...body });
    return new Promise((resolve) => this.#pending.set(id, resolve));
  }

  /** The store now holds, at `version`, the slot the thread sealed for `sessionKey`. */
  stored(sessionKey: string, version: number, sealed: Uint8Array): void {
    if (this.#threadSealed.size >= this.#limit) this.#threadSealed.delete(this.#threadSealed.keys().next().value!);
    this.#threadSealed.set(sessionKey, { version, sealed });
  }

  #flush(): void {
    if (this.#inFlight) return; // sent when the batch in flight comes back
    const batch = { businesses: this.#businesses, jobs: this.#jobs };
    this.#businesses = [];
    this.#jobs = [];
    if (batch.jobs.length === 0) return;
    if (this.#stopped) {
      for (const job of batch.jobs) this.#settle(job.id, undefined);
      return;
    }
    this.#inFlight = true;
    const bytes = encodeBatch(batch);
    this.#worker.postMessage(bytes, [bytes]);
  }

  /** Resolves job `id` with its result (`undefined`: do it on the event loop). */
  #settle(id: number, result: SessionCryptoResult | undefined): void {
    const resolve = this.#pending.get(id);
    this.#pending.delete(id);
    resolve?.(result);
  }

  #stop(): void {
    this.#stopped = true;
    for (const id of [...this.#pending.keys()]) this.#settle(id, undefined);
  }

  async close(): Promise<void> {
    this.#stop();
    await this.#worker.terminate();
  }
}
