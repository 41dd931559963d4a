/**
 * Frozen known-answer transcripts with libsignal 0.103 (spqr.md §12, item 2): the format, shared
 * by the generator (spqr-fixture-generator.ts, which needs libsignal) and the replay test
 * (spqr-known-answer.test.ts, which does not).
 *
 * A transcript starts from our serialized session record right after the handshake; from there
 * our side draws its randomness from `seed` (seeded-backend.ts), so replaying it reproduces our
 * messages byte for byte and libsignal's messages must decrypt to the recorded plaintexts.
 * `libsignalRecord` is libsignal's record at the end, for the white-box comparison.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export interface TranscriptStep {
  from: 'us' | 'libsignal';
  type: 2 | 3;
  /** base64 */
  body: string;
  /** base64 */
  plaintext: string;
  /** libsignal's message, re-encrypted after injecting its record from before, came out byte-identical. */
  reproduced?: boolean;
}

export interface SpqrTranscript {
  libsignal: string;
  initiator: 'us' | 'libsignal';
  seed: number;
  /** base64 of our SessionRecord.serialize() */
  ourRecord: string;
  steps: TranscriptStep[];
  /** base64 of libsignal's SessionRecord.serialize() after the last step */
  libsignalRecord: string;
}

export const FIXTURE_NAMES = ['spqr-transcript-we-initiate.json', 'spqr-transcript-libsignal-initiates.json'] as const;

/** The fixture directory in the source tree (this module runs from dist/test/signal). */
export function fixturePath(name: string): string {
  return fileURLToPath(new URL(`../../../test/signal/fixtures/${name}`, import.meta.url));
}

export function readTranscript(name: string): SpqrTranscript {
  return JSON.parse(readFileSync(fixturePath(name), 'utf8')) as SpqrTranscript;
}

export const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');
export const unb64 = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'base64'));
