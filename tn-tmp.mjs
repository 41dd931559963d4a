import { isCanonicalBaseKey } from '/work/main/dist/src/signal/keys.js';
import { getBackend } from '/work/main/dist/src/crypto/index.js';
// tweetnacl-style GF(2^255-19) with 16 limbs of 16 bits in Float64Array
const gf = () => new Float64Array(16);
function car(o) { for (let i = 0; i < 16; i++) { o[i] += 65536; const c = Math.floor(o[i] / 65536); o[(i + 1) * (i < 15 ? 1 : 0)] += c - 1 + 37 * (c - 1) * (i === 15 ? 1 : 0); o[i] -= c * 65536; } }
function A(o, a, b) { for (let i = 0; i < 16; i++) o[i] = a[i] + b[i]; }
function Z(o, a, b) { for (let i = 0; i < 16; i++) o[i] = a[i] - b[i]; }
const t = new Float64Array(31);
function M(o, a, b) {
  t.fill(0);
  for (let i = 0; i < 16; i++) { const ai = a[i]; for (let j = 0; j < 16; j++) t[i + j] += ai * b[j]; }
  for (let i = 0; i < 15; i++) t[i] += 38 * t[i + 16];
  for (let i = 0; i < 16; i++) o[i] = t[i];
  car(o); car(o);
}
function sel(p, q, b) { const c = -b; for (let i = 0; i < 16; i++) { const x = c & (p[i] ^ q[i]); p[i] ^= x; q[i] ^= x; } }
function pack(n) { // returns canonical bytes
  const m = gf(), tt = gf(); for (let i = 0; i < 16; i++) tt[i] = n[i];
  car(tt); car(tt); car(tt);
  for (let j = 0; j < 2; j++) {
    m[0] = tt[0] - 0xffed;
    for (let i = 1; i < 15; i++) { m[i] = tt[i] - 0xffff - ((m[i - 1] >> 16) & 1); m[i - 1] &= 0xffff; }
    m[15] = tt[15] - 0x7fff - ((m[14] >> 16) & 1);
    const b = (m[15] >> 16) & 1; m[14] &= 0xffff; sel(tt, m, 1 - b);
  }
  return tt;
}
const Lbits = (() => { const L = (1n << 252n) + 27742317777372353535851937790883648493n; const out = []; for (let i = 252; i >= 0; i--) out.push(Number((L >> BigInt(i)) & 1n)); return out; })();
const a24 = gf(); a24[0] = 0xdb41; a24[1] = 1; // 121665
function ladder(raw) {
  const x = gf(); for (let i = 0; i < 16; i++) x[i] = raw[2 * i] + (raw[2 * i + 1] << 8); x[15] &= 0x7fff;
  const a = gf(), b = gf(), c = gf(), d = gf(), e = gf(), f = gf();
  b.set(x); a[0] = 1; d[0] = 1; // a=x2=1, c=z2=0, b=x3=u, d=z3=1
  for (const r of Lbits) {
    sel(a, b, r); sel(c, d, r);
    A(e, a, c); Z(a, a, c); A(c, b, d); Z(b, b, d);
    M(d, e, e); M(f, a, a); M(a, c, a); M(c, b, e);
    A(e, a, c); Z(a, a, c); M(b, a, a); Z(c, d, f); M(a, c, a24); A(a, a, d); M(c, c, a); M(a, d, f); M(d, b, x); M(b, e, e);
    sel(a, b, r); sel(c, d, r);
  }
  const z = pack(c); return z.every((v) => v === 0);
}
const b = getBackend('node');
const keys = Array.from({ length: 20 }, () => b.x25519GenerateKeyPair().publicKey);
for (const k of keys) if (ladder(k) !== isCanonicalBaseKey(k)) console.log('mismatch');
for (let u = 0; u < 300; u++) { const raw = new Uint8Array(32); raw[0] = u & 255; raw[1] = u >> 8; if (u && ladder(raw) !== isCanonicalBaseKey(raw)) console.log('mismatch u', u); }
for (let r = 0; r < 3; r++) {
  let t0 = performance.now(); for (let i = 0; i < 100; i++) isCanonicalBaseKey(keys[i % 20]); const l = (performance.now() - t0) * 10;
  t0 = performance.now(); for (let i = 0; i < 100; i++) ladder(keys[i % 20]); const n = (performance.now() - t0) * 10;
  console.log('bigint', l.toFixed(0), 'float limbs', n.toFixed(0));
}
