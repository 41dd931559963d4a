/** Boundary checks of request fields: the fast base64 check agrees with the grammar of RFC 4648 §4. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { isPaddedBase64, requireBase64 } from '../../src/server/request-fields.js';
import { GraphError } from '../../src/server/graph-error.js';

/**
 * The grammar as a regex, canonical form (RFC 4648 §3.5: the unused bits before the padding are
 * zero, as every encoder writes them): the oracle for the native check.
 */
const grammar = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/][AQgw]==|[A-Za-z0-9+/]{2}[AEIMQUYcgkosw048]=)?$/;

test('isPaddedBase64 accepts exactly the padded standard-base64 strings', () => {
  for (const ok of ['', 'AA==', 'AAA=', 'AAAA', 'ab+/', Buffer.from('hello world').toString('base64')]) assert.equal(isPaddedBase64(ok), true, ok);
  for (const bad of ['A', 'AA=', 'A===', '====', 'A=A=', 'AA-_', 'AAAA\n', '=AAA', 'AA=A', 'AAA', 'YWJj ZA==', 'AB==', 'AAB=']) assert.equal(isPaddedBase64(bad), false, bad);
  // Node's decoder reads a UTF-16 code unit by its low byte: a lone surrogate must not pass for a letter or '='.
  for (const bad of ['AAA\uD841', 'AA\uD841\uD841', 'AAAA\uD83D', 'AA\uD841=']) assert.equal(isPaddedBase64(bad), false, JSON.stringify(bad));
  const alphabet = fc.constantFrom(...'AQZaz09+/=-_ \n\uD841'.split(''));
  fc.assert(
    fc.property(fc.array(alphabet, { maxLength: 24 }), (chars) => {
      const text = chars.join('');
      assert.equal(isPaddedBase64(text), grammar.test(text), JSON.stringify(text));
    }),
    { numRuns: 3_000 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
      assert.equal(isPaddedBase64(Buffer.from(bytes).toString('base64')), true);
    }),
  );
});

test('requireBase64 refuses unpadded or url-safe base64 with 100 and empty values with 131009', () => {
  const kind = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      return e instanceof GraphError ? e.kind : 'other';
    }
    return 'none';
  };
  assert.equal(kind(() => requireBase64({ b: 'AA' }, 'b')), 'invalid-parameter');
  assert.equal(kind(() => requireBase64({ b: '-_8=' }, 'b')), 'invalid-parameter');
  assert.equal(kind(() => requireBase64({ b: '' }, 'b')), 'parameter-value');
  assert.deepEqual([...requireBase64({ b: 'AQID' }, 'b', 3)], [1, 2, 3]);
});
