import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { Keyring } from './keyring.js';
import { draw, systemRandom, type RandomSource } from './random.js';

// Blob layout: MAGIC | FORMAT | uint32 key version | wrapNonce | wrappedKey | wrapTag | dataNonce | ciphertext |
// dataTag
const PREFIX = 'rmp1.';
const MAGIC = Buffer.from('RMP', 'latin1');
const FORMAT = 1;
const FORMAT_BYTES = MAGIC.length + 1;
const HEADER_BYTES = FORMAT_BYTES + 4;
const NONCE_BYTES = 12;
const KEY_BYTES = 32;
const TAG_BYTES = 16;
const MIN_BLOB = HEADER_BYTES + NONCE_BYTES + KEY_BYTES + TAG_BYTES + NONCE_BYTES + TAG_BYTES;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Any failure to open a sealed value. Messages are fixed and never carry plaintext or key material. */
export class DecryptError extends Error {
  override readonly name = 'DecryptError';
  readonly code = 'decrypt_failed';
}

const malformed = () => new DecryptError('malformed ciphertext');
const unauthentic = () => new DecryptError('ciphertext failed authentication');

interface Sealed {
  header: Buffer;
  keyVersion: number;
  wrapNonce: Buffer;
  wrappedKey: Buffer;
  wrapTag: Buffer;
  dataNonce: Buffer;
  ciphertext: Buffer;
  dataTag: Buffer;
}

function parse(sealed: string): Sealed {
  if (typeof sealed !== 'string' || !sealed.startsWith(PREFIX)) throw malformed();
  const body = sealed.slice(PREFIX.length);
  if (!BASE64URL.test(body)) throw malformed();
  const blob = Buffer.from(body, 'base64url');
  // Re-encoding rejects non-canonical base64, so every character of the string is authenticated.
  if (blob.toString('base64url') !== body || blob.length < MIN_BLOB) throw malformed();
  if (!blob.subarray(0, MAGIC.length).equals(MAGIC) || blob[MAGIC.length] !== FORMAT) throw malformed();
  const keyVersion = blob.readUInt32BE(FORMAT_BYTES);
  if (keyVersion < 1) throw malformed();

  let at = 0;
  const take = (n: number) => {
    at += n;
    return blob.subarray(at - n, at);
  };
  return {
    header: take(HEADER_BYTES),
    keyVersion,
    wrapNonce: take(NONCE_BYTES),
    wrappedKey: take(KEY_BYTES),
    wrapTag: take(TAG_BYTES),
    dataNonce: take(NONCE_BYTES),
    ciphertext: take(blob.length - at - TAG_BYTES), // properties are evaluated in order, so `at` is current
    dataTag: take(TAG_BYTES),
  };
}

function header(keyVersion: number): Buffer {
  const out = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(out);
  out[MAGIC.length] = FORMAT;
  out.writeUInt32BE(keyVersion, FORMAT_BYTES);
  return out;
}

/** Sorted [key, value] pairs as JSON: one encoding per context, and no two contexts share one. */
function encodeContext(context: Readonly<Record<string, string>>): Buffer {
  const pairs = Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [name, value] of pairs) {
    if (typeof value !== 'string') throw new TypeError(`envelope context value "${name}" must be a string`);
  }
  return Buffer.from(JSON.stringify(pairs), 'utf8');
}

// The wrap layer binds the full header, key version included. The data layer binds only magic and
// format, so rewrap can change the key version without re-encrypting the data.
const wrapAad = (head: Buffer, context: Buffer) => Buffer.concat([head, context]);
const dataAad = (head: Buffer, context: Buffer) => Buffer.concat([head.subarray(0, FORMAT_BYTES), context]);

function encrypt(key: Buffer, nonce: Buffer, plaintext: Buffer, aad: Buffer): [Buffer, Buffer] {
  const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return [ciphertext, cipher.getAuthTag()];
}

function decrypt(key: Buffer, nonce: Buffer, ciphertext: Buffer, tag: Buffer, aad: Buffer): Buffer {
  const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  const plaintext = decipher.update(ciphertext);
  try {
    decipher.final(); // GCM emits nothing here; it only checks the tag
    return plaintext;
  } catch {
    plaintext.fill(0);
    throw unauthentic();
  }
}

function unwrapKey(keyring: Keyring, sealed: Sealed, context: Buffer): Buffer {
  const retired = keyring.retiredUse?.(sealed.keyVersion);
  if (retired) throw retired;
  if (!keyring.versions().includes(sealed.keyVersion)) {
    throw new DecryptError(`unknown key version ${sealed.keyVersion}`);
  }
  const master = keyring.key(sealed.keyVersion);
  try {
    return decrypt(master, sealed.wrapNonce, sealed.wrappedKey, sealed.wrapTag, wrapAad(sealed.header, context));
  } finally {
    master.fill(0);
  }
}

function wrapKey(keyring: Keyring, dek: Buffer, context: Buffer, random: RandomSource) {
  const head = header(keyring.current);
  const master = keyring.key(keyring.current);
  try {
    const wrapNonce = draw(random, NONCE_BYTES);
    const [wrappedKey, wrapTag] = encrypt(master, wrapNonce, dek, wrapAad(head, context));
    return { head, parts: [head, wrapNonce, wrappedKey, wrapTag] };
  } finally {
    master.fill(0);
  }
}

const serialize = (parts: Buffer[]) => PREFIX + Buffer.concat(parts).toString('base64url');

/** Encrypts under a fresh data key wrapped by the current master key, bound to `context` (e.g. tenant and record). */
export function seal(
  keyring: Keyring,
  plaintext: Buffer | string,
  context: Readonly<Record<string, string>>,
  random: RandomSource = systemRandom,
): string {
  const ctx = encodeContext(context);
  const input = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  const dek = draw(random, KEY_BYTES);
  try {
    const { head, parts } = wrapKey(keyring, dek, ctx, random);
    const dataNonce = draw(random, NONCE_BYTES);
    const [ciphertext, dataTag] = encrypt(dek, dataNonce, input, dataAad(head, ctx));
    return serialize([...parts, dataNonce, ciphertext, dataTag]);
  } finally {
    dek.fill(0);
    if (input !== plaintext) input.fill(0);
  }
}

/** Decrypts a sealed value; throws DecryptError on any tampering, wrong context or unknown key version. */
export function open(keyring: Keyring, sealed: string, context: Readonly<Record<string, string>>): Buffer {
  const parsed = parse(sealed);
  const ctx = encodeContext(context);
  const dek = unwrapKey(keyring, parsed, ctx);
  try {
    return decrypt(dek, parsed.dataNonce, parsed.ciphertext, parsed.dataTag, dataAad(parsed.header, ctx));
  } finally {
    dek.fill(0);
  }
}

/** The master key version a sealed value is wrapped under (header only; nothing is decrypted). */
export function keyVersionOf(sealed: string): number {
  return parse(sealed).keyVersion;
}

/**
 * Re-wraps the data key under the current master key, leaving the data ciphertext as it is (D3 rotation).
 * The old wrap is authenticated first, so a forged record is never blessed with a fresh wrap.
 */
export function rewrap(
  keyring: Keyring,
  sealed: string,
  context: Readonly<Record<string, string>>,
  random: RandomSource = systemRandom,
): string {
  const parsed = parse(sealed);
  const ctx = encodeContext(context);
  const dek = unwrapKey(keyring, parsed, ctx);
  try {
    const { parts } = wrapKey(keyring, dek, ctx, random);
    return serialize([...parts, parsed.dataNonce, parsed.ciphertext, parsed.dataTag]);
  } finally {
    dek.fill(0);
  }
}
