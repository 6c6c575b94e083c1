import { auditActions } from '../platform/audit/actions.js';
import { appendAudit, listEvents, userStream, type StoredEvent } from '../platform/audit/events.js';
import type { Clock } from '../platform/clock.js';
import type { Tenancy, Tx } from '../platform/db/database.js';
import { notFound } from '../platform/errors.js';
import type { RequestContext } from '../platform/request-context.js';
import { DAY, type Session, type SessionOps, type SessionService } from '../sessions/index.js';

/** The actions features declared as part of a person's sign-in history (S4). */
export const signInHistoryLabels = (): Map<string, string> =>
  new Map(
    [...auditActions()].flatMap(([name, def]) => (def.signInHistory ? [[name, def.signInHistory] as const] : [])),
  );

const actor = (s: Session) => `user:${s.userId}`;

/**
 * Revoking and the sign-in history, inside a sessions transaction: what the account routes do, and
 * what the S4 live check rehearses in a transaction that is rolled back.
 */
export function accountSessionSteps(clock: Clock) {
  return {
    /** Revokes one of the caller's own sessions; another person's session id is simply not found. */
    async revoke(tx: Tx, s: SessionOps, current: Session, sessionId: string, context: RequestContext): Promise<void> {
      const revoked = await s.revoke({ userId: current.userId, sessionId }, 'revoked_by_user');
      if (revoked === 0) throw notFound('That session');
      await appendAudit(
        tx,
        {
          stream: userStream(current.userId),
          action: 'user.session_revoked',
          actor: actor(current),
          target: `session:${sessionId}`,
          context,
        },
        clock,
      );
    },

    async revokeOthers(tx: Tx, s: SessionOps, current: Session, context: RequestContext): Promise<number> {
      const revoked = await s.revoke({ userId: current.userId, exceptSessionId: current.id }, 'revoked_by_user');
      await appendAudit(
        tx,
        {
          stream: userStream(current.userId),
          action: 'user.session_revoked',
          actor: actor(current),
          target: 'session:others',
          context,
          payload: { sessionsRevoked: revoked },
        },
        clock,
      );
      return revoked;
    },

    /** Sign-in activity of the last 30 days, from the user's own audit stream. */
    history(tx: Tx, userId: string): Promise<StoredEvent[]> {
      const since = new Date(clock.now().getTime() - 30 * DAY);
      return listEvents(tx, userStream(userId), { since, actions: [...signInHistoryLabels().keys()], limit: 200 });
    },
  };
}

/** What a signed-in person does with their own sessions (S4). */
export function createAccountSessions(deps: { db: Tenancy; sessions: SessionService; clock: Clock }) {
  const { sessions, clock } = deps;
  const steps = accountSessionSteps(clock);

  return {
    async signOut(current: Session, context: RequestContext, everywhere = false): Promise<void> {
      await sessions.write(async (tx, s) => {
        const revoked = await s.revoke(
          everywhere ? { userId: current.userId } : { userId: current.userId, sessionId: current.id },
          everywhere ? 'signed_out_everywhere' : 'signed_out',
        );
        await appendAudit(
          tx,
          {
            stream: userStream(current.userId),
            action: 'user.signed_out',
            actor: actor(current),
            target: `session:${current.id}`,
            context,
            payload: { everywhere, sessionsRevoked: revoked },
          },
          clock,
        );
      });
    },

    /** Revokes one of the caller's own sessions; another person's session id is simply not found. */
    revoke: (current: Session, sessionId: string, context: RequestContext): Promise<void> =>
      sessions.write((tx, s) => steps.revoke(tx, s, current, sessionId, context)),

    revokeOthers: (current: Session, context: RequestContext): Promise<number> =>
      sessions.write((tx, s) => steps.revokeOthers(tx, s, current, context)),

    list: (userId: string) => sessions.list(userId),

    /** Sign-in activity of the last 30 days, from the user's own audit stream. */
    history: (userId: string): Promise<StoredEvent[]> => deps.db.withSystem((tx) => steps.history(tx, userId)),
  };
}

export type AccountSessions = ReturnType<typeof createAccountSessions>;
