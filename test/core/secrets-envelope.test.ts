// The envelope encryption of secrets: a value opens only with its row's place and a KEK that
// wrapped it; any altered byte, a value moved to another row, a wrong KEK or a relabelled KEK id
// is refused; rotation rewraps the data key under the new KEK without touching the ciphertext.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { generateKekText, kekIdOf, Keyring, parseKek, SecretCryptoError, type Kek, type SealedValue } from '../../src/core/secrets/envelope.js';

function kek(): Kek {
  const k = parseKek(generateKekText());
  assert.ok(!('problem' in k));
  return k;
}

const place = { namespace: 'prod', name: 'API_TOKEN' };
const VALUE = 'hunter2-the-value-Ünïcode-🔑';

/** Flips one bit of the byte at `i` of a base64 blob. */
function flip(b64: string, i: number): string {
  const buf = Buffer.from(b64, 'base64');
  buf[i % buf.length]! ^= 0x01;
  return buf.toString('base64');
}

function refused(fn: () => unknown, reason: 'tampered' | 'unknown_kek'): void {
  assert.throws(fn, (err: unknown) => err instanceof SecretCryptoError && err.reason === reason);
}

describe('envelope', () => {
  it('seals and opens; the stored parts contain neither the value nor the KEK', () => {
    const k = kek();
    const ring = new Keyring(k);
    const sealed = ring.seal(place, VALUE);
    assert.equal(sealed.kekId, k.id);
    assert.equal(ring.open(place, sealed), VALUE);
    const stored = JSON.stringify(sealed);
    assert.ok(!stored.includes(VALUE) && !stored.includes(Buffer.from(VALUE).toString('base64')));
    assert.ok(!stored.includes(k.key.toString('base64')));
    // A fresh data key and IV per seal: two seals of one value differ.
    const again = ring.seal(place, VALUE);
    assert.notEqual(again.ciphertext, sealed.ciphertext);
    assert.notEqual(again.wrappedKey, sealed.wrappedKey);
  });

  it('refuses a ciphertext or wrapped key with any byte altered, or truncated', () => {
    const ring = new Keyring(kek());
    const sealed = ring.seal(place, VALUE);
    const ctLen = Buffer.from(sealed.ciphertext, 'base64').length;
    const wkLen = Buffer.from(sealed.wrappedKey, 'base64').length;
    for (let i = 0; i < ctLen; i++) refused(() => ring.open(place, { ...sealed, ciphertext: flip(sealed.ciphertext, i) }), 'tampered');
    for (let i = 0; i < wkLen; i++) refused(() => ring.open(place, { ...sealed, wrappedKey: flip(sealed.wrappedKey, i) }), 'tampered');
    refused(() => ring.open(place, { ...sealed, ciphertext: sealed.ciphertext.slice(0, 20) }), 'tampered');
  });

  it('refuses a value moved to another secret or namespace', () => {
    const ring = new Keyring(kek());
    const sealed = ring.seal(place, VALUE);
    refused(() => ring.open({ namespace: 'prod', name: 'OTHER' }, sealed), 'tampered');
    refused(() => ring.open({ namespace: 'dev', name: 'API_TOKEN' }, sealed), 'tampered');
    // Another row's wrapped key with this row's ciphertext: the data keys differ.
    const other = ring.seal(place, 'something else');
    refused(() => ring.open(place, { ...sealed, wrappedKey: other.wrappedKey }), 'tampered');
  });

  it('refuses the wrong KEK: unknown id, or a known id relabelled onto another key', () => {
    const a = kek();
    const b = kek();
    const sealed = new Keyring(a).seal(place, VALUE);
    refused(() => new Keyring(b).open(place, sealed), 'unknown_kek');
    // Same id claimed, other key material: authentication fails.
    const impostor = new Keyring({ id: a.id, key: b.key });
    refused(() => impostor.open(place, sealed), 'tampered');
    // A wrapped key relabelled with another KEK's id the ring holds.
    const both = new Keyring(b, [a]);
    refused(() => both.open(place, { ...sealed, kekId: b.id }), 'tampered');
  });

  it('rotation: the new KEK with the old as previous opens old values and rewraps them; the ciphertext stays', () => {
    const oldKek = kek();
    const newKek = kek();
    const sealed = new Keyring(oldKek).seal(place, VALUE);
    const rotating = new Keyring(newKek, [oldKek]);
    assert.equal(rotating.open(place, sealed), VALUE);
    assert.ok(rotating.needsRewrap(sealed));
    const rewrapped: SealedValue = rotating.rewrap(place, sealed);
    assert.equal(rewrapped.kekId, newKek.id);
    assert.equal(rewrapped.ciphertext, sealed.ciphertext);
    assert.ok(!rotating.needsRewrap(rewrapped));
    // After the rotation the old KEK is no longer needed, and no longer enough.
    assert.equal(new Keyring(newKek).open(place, rewrapped), VALUE);
    refused(() => new Keyring(oldKek).open(place, rewrapped), 'unknown_kek');
    // A tampered row is not blessed by a rewrap.
    refused(() => rotating.rewrap(place, { ...sealed, ciphertext: flip(sealed.ciphertext, 30) }), 'tampered');
  });

  it('parses keys as base64 of exactly 32 bytes, never echoing them; ids are stable per key', () => {
    const text = randomBytes(32).toString('base64');
    const k = parseKek(`  ${text}\n`);
    assert.ok(!('problem' in k));
    assert.equal(k.id, kekIdOf(Buffer.from(text, 'base64')));
    assert.equal(k.id, (parseKek(Buffer.from(text, 'base64').toString('base64url')) as Kek).id);
    for (const bad of ['', 'not base64 !', randomBytes(16).toString('base64'), randomBytes(33).toString('base64')]) {
      const p = parseKek(bad);
      assert.ok('problem' in p, bad);
      if (bad.length > 4) assert.ok(!p.problem.includes(bad));
    }
    assert.ok(!k.id.includes(text.slice(0, 8)));
  });
});
