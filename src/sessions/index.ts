import { defineFeature } from '../feature.js';
import { SESSION_ERRORS } from './errors.js';
import { csrfProtection, PRE_SESSION_COOKIE } from '../platform/http/csrf.js';
import { SESSION_AUDIT_ACTIONS } from './audit-actions.js';
import { rotationCheck, sessionChecks } from './checks.js';
import { SESSION_COOKIE, sessionLoading } from './http.js';
import { createSessionService, defaultSessionPolicy, type SessionPolicy, type SessionService } from './service.js';

declare module '../feature.js' {
  interface Services {
    sessions: SessionService;
  }
  interface Overrides {
    sessionPolicy?: SessionPolicy;
  }
}

/** S1-S4: server-side sessions, the cookie that carries them, and CSRF bound to them. */
export const sessionsFeature = defineFeature({
  name: 'sessions',
  title: 'Sessions',
  errors: SESSION_ERRORS,
  auditActions: SESSION_AUDIT_ACTIONS,
  setup({ platform: p, provide }) {
    const sessions = createSessionService({
      db: p.db,
      bus: p.bus,
      clock: p.clock,
      policy: p.overrides.sessionPolicy ?? defaultSessionPolicy(p.config.sessionMaxAgeDays),
      onError: (err) => p.logger.error({ err }, 'session events subscription failed; retrying'),
    });
    p.onClose(() => sessions.close());
    provide('sessions', sessions);
  },
  trustChecks: ({ platform: p, use }) => [
    ...sessionChecks({
      policy: p.overrides.sessionPolicy ?? defaultSessionPolicy(p.config.sessionMaxAgeDays),
      bus: p.bus,
    }),
    rotationCheck(use('sessions')),
  ],
  hooks(app, { platform: p, use }) {
    sessionLoading(app, use('sessions'));
    csrfProtection(app, {
      key: p.subkey('rampart csrf v1'),
      baseUrl: p.config.baseUrl,
      sessionBinding: (request) => (request.auth ?? request.pendingSignIn)?.session.id,
      hasOurCookie: (request) =>
        request.cookies[SESSION_COOKIE] !== undefined || request.cookies[PRE_SESSION_COOKIE] !== undefined,
    });
  },
});

export {
  authOf,
  clearSessionCookie,
  pendingOf,
  requirePendingSignIn,
  requireSession,
  requireUser,
  SESSION_COOKIE,
  safeNext,
  setSessionCookie,
} from './http.js';
export { SESSION_ERRORS, sessionError } from './errors.js';
export { SignedInJson, UserJson } from './json.js';
export {
  type Authenticated,
  DAY,
  type EndedListener,
  type EndedSession,
  type Factor,
  type SecondFactorCheck,
  type Session,
  type SessionPolicy,
  type SessionOps,
  type SessionService,
} from './service.js';
