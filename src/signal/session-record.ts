/**
 * All sessions with one remote device: the current state plus archived
 * previous states, newest first (libsignal `state/session.rs` SessionRecord).
 */
import { SignalError } from './errors.js';
import { bytesEqual } from './keys.js';
import { decodeSessionStates, encodeSessionStates, MAX_ARCHIVED_STATES } from './session-serialization.js';
import type { SessionState } from './session-state.js';

const NO_STATES: readonly SessionState[] = Object.freeze([]);

export class SessionRecord {
  /** @internal */ current: SessionState | undefined;
  /** Archived states, newest first; absent while there are none (most records: saves an array each). */
  private archive: SessionState[] | undefined;

  private constructor(current: SessionState | undefined, previous: SessionState[]) {
    this.current = current;
    this.archive = previous.length > 0 ? previous : undefined;
  }

  static empty(): SessionRecord {
    return new SessionRecord(undefined, []);
  }

  /** @internal Archived states, newest first. */
  get previous(): readonly SessionState[] {
    return this.archive ?? NO_STATES;
  }

  /**
   * A current session usable for sending: one with SPQR state (libsignal ≥ 0.100's
   * hasCurrentState()). A session loaded from a record written before SPQR is not: it still
   * decrypts, but encrypting on it throws 'spqr-session-unusable' and the caller starts a new
   * session (processPreKeyBundle).
   */
  hasCurrentSession(): boolean {
    return this.current?.spqr !== undefined;
  }

  /** The current session's remote identity key (33 bytes), if there is a current session. */
  remoteIdentityKey(): Uint8Array | undefined {
    return this.current?.remoteIdentityKey.slice();
  }

  /** Remote registration id of the current session. */
  remoteRegistrationId(): number | undefined {
    return this.current?.remoteRegistrationId;
  }

  serialize(): Uint8Array {
    return encodeSessionStates(this.current, this.previous);
  }

  static deserialize(bytes: Uint8Array): SessionRecord {
    if (!(bytes instanceof Uint8Array)) throw new SignalError('invalid-message', 'session record: not bytes');
    const { current, previous } = decodeSessionStates(bytes);
    return new SessionRecord(current, previous);
  }

  clone(): SessionRecord {
    return SessionRecord.deserialize(this.serialize());
  }

  /** Move the current state (if any) to the front of the archive. */
  archiveCurrentState(): void {
    if (this.current === undefined) return;
    const archive = (this.archive ??= []);
    archive.unshift(this.current);
    if (archive.length > MAX_ARCHIVED_STATES) archive.length = MAX_ARCHIVED_STATES;
    this.current = undefined;
  }

  /** @internal Make `state` (current or archived) the current state. */
  promote(state: SessionState): void {
    if (state === this.current) return;
    const archive = this.archive;
    const at = archive === undefined ? -1 : archive.indexOf(state);
    if (at >= 0) {
      archive!.splice(at, 1);
      if (archive!.length === 0) this.archive = undefined;
    }
    this.archiveCurrentState();
    this.current = state;
  }

  /** @internal The state (current first, then newest archived) created from this base key. */
  findByBaseKey(version: number, baseKey: Uint8Array): SessionState | undefined {
    if (this.current && this.current.version === version && bytesEqual(this.current.aliceBaseKey, baseKey)) return this.current;
    return this.previous.find((s) => s.version === version && bytesEqual(s.aliceBaseKey, baseKey));
  }
}
