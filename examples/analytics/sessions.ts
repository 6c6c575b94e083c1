import { randomBytes } from 'node:crypto';

/** The tokens a signed-in person's session holds; never sent to the browser. */
export interface SessionTokens {
  accessToken: string;
  refreshToken?: string;
  idToken: string;
}

/** A sign-in in progress: what the callback must check (RFC 7636 verifier, state, nonce). */
export interface PendingSignIn {
  codeVerifier: string;
  state: string;
  nonce: string;
  /** Where to go once signed in (a path of this product). */
  next: string;
  /** True when this sign-in asked Rampart for a second factor. */
  secondFactor: boolean;
}

export interface ProductSession {
  readonly id: string;
  pending?: PendingSignIn;
  tokens?: SessionTokens;
  /** Rampart's session (`sid` of the ID token): the key of back-channel logout. */
  sid?: string;
  /** Rampart's user id. */
  sub?: string;
  email?: string;
  /** Set when Rampart ended the session: the next page says so once, then the session is gone. */
  endedBy?: 'rampart' | 'refresh_failed';
  lastSeen: number;
}

/** Sessions unused for this long are forgotten (the Rampart session behind them lasts longer). */
const IDLE_MS = 12 * 60 * 60 * 1000;

/**
 * The product's own server-side sessions: an in-memory Map keyed by the random value of an HttpOnly
 * cookie. One process only — a real product would keep them in its database or Redis.
 */
export class SessionStore {
  readonly #sessions = new Map<string, ProductSession>();

  get(id: string | undefined): ProductSession | undefined {
    if (!id) return undefined;
    const session = this.#sessions.get(id);
    if (!session) return undefined;
    if (Date.now() - session.lastSeen > IDLE_MS) {
      this.#sessions.delete(id);
      return undefined;
    }
    session.lastSeen = Date.now();
    return session;
  }

  create(): ProductSession {
    this.#sweep();
    const session: ProductSession = { id: randomBytes(32).toString('base64url'), lastSeen: Date.now() };
    this.#sessions.set(session.id, session);
    return session;
  }

  delete(id: string): void {
    this.#sessions.delete(id);
  }

  /** Back-channel logout: ends every session of that Rampart session, or of that user when only `sub` is named. */
  endByRampart(event: { sid: string | null; sub: string | null }): number {
    let ended = 0;
    for (const session of this.#sessions.values()) {
      const hit = event.sid ? session.sid === event.sid : event.sub !== null && session.sub === event.sub;
      if (!hit || !session.tokens) continue;
      this.signOut(session, 'rampart');
      ended++;
    }
    return ended;
  }

  /** Drops the tokens; the session lives on only to tell the person why they were signed out. */
  signOut(session: ProductSession, why: NonNullable<ProductSession['endedBy']>): void {
    session.tokens = undefined;
    session.pending = undefined;
    session.sid = undefined;
    session.sub = undefined;
    session.email = undefined;
    session.endedBy = why;
  }

  get size(): number {
    return this.#sessions.size;
  }

  #sweep(): void {
    const now = Date.now();
    for (const [id, s] of this.#sessions) if (now - s.lastSeen > IDLE_MS) this.#sessions.delete(id);
  }
}
