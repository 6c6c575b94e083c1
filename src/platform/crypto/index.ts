export type { RandomSource } from './random.js';
export { systemRandom } from './random.js';
export type { Keyring } from './keyring.js';
export { KeyringError, parseKeyring, generateMasterKeyEntry, formatKeyring } from './keyring.js';
export { DecryptError, seal, open, keyVersionOf, rewrap } from './envelope.js';
export { randomToken, hashToken, tokenMatches } from './tokens.js';
export type { PasswordParams, PasswordHasher } from './passwords.js';
export { OWASP_PARAMS, createPasswordHasher } from './passwords.js';
