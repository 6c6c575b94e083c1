export { RampartAuthError, isRampartAuthError, type RampartAuthErrorCode } from './errors.js';
export {
  ACR_MFA,
  ACR_PASSWORD,
  hasPermissions,
  type RampartAccessTokenClaims,
  type RampartIdentity,
} from './identity.js';
export type { FetchLike } from './fetch.js';
export { discoveryUrl, type RampartDiscovery } from './discovery.js';
export { createLocalKeyResolver, createRemoteKeyResolver, type KeyResolver } from './jwks.js';
export { createVerifier, type RampartAlgorithm, type RampartVerifier, type VerifierOptions } from './verifier.js';
export {
  BACKCHANNEL_LOGOUT_EVENT,
  createBackchannelLogoutHandler,
  type BackchannelLogoutBody,
  type BackchannelLogoutHandler,
  type BackchannelLogoutOptions,
  type BackchannelLogoutResponse,
  type LogoutEvent,
} from './backchannel-logout.js';
export { MemoryReplayStore, type ReplayStore } from './replay-store.js';
export { SessionRevocations, type RevocationChecker, type SessionRevocationsOptions } from './revocations.js';
export { bearerToken, challengeOf } from './http-auth.js';
export { rampartFastify, rampartBackchannelLogout, type RampartFastifyOptions } from './fastify.js';
export { rampartExpress, type RampartExpressOptions } from './express.js';
// The guards share names across frameworks; each set lives in its own namespace (and subpath).
export * as fastify from './fastify.js';
export * as express from './express.js';
export {
  createRampartClient,
  isRampartApiError,
  RampartApiError,
  SESSION_COOKIE,
  type ApiFetch,
  type HttpMethod,
  type PathsFor,
  type RampartClient,
  type RampartClientAuth,
  type RampartClientOptions,
  type RampartFieldError,
  type RampartOperation,
  type RampartPath,
  type RampartResponse,
  type RequestInput,
  type RequestOptions,
  type ResponseBody,
} from './api-client.js';
export type { Components, RampartErrorCode, RampartErrorStatuses, RampartPaths } from './api-types.js';
