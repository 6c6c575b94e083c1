import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/*
 * The report form's token: its issue time and a random nonce, signed with a key of this deployment.
 * A form sent back sooner than MIN_AGE was not filled in by a person; one older than MAX_AGE is
 * stale; each is spent once (the nonce's hash is kept until the token would have expired).
 */

export const FORM_MIN_AGE_MS = 3_000;
export const FORM_MAX_AGE_MS = 2 * 60 * 60 * 1000;

export type FormTokenVerdict =
  | { ok: true; nonceHash: string; expiresAt: Date }
  | { ok: false; reason: 'invalid' | 'too_fast' | 'expired' };

const SHAPE = /^(\d{13})\.([A-Za-z0-9_-]{22})\.([A-Za-z0-9_-]{43})$/;

export function createFormTokens(key: Buffer) {
  const sign = (body: string) => createHmac('sha256', key).update(`disclosure-form:${body}`).digest('base64url');
  return {
    issue(now: Date): string {
      const body = `${String(now.getTime()).padStart(13, '0')}.${randomBytes(16).toString('base64url')}`;
      return `${body}.${sign(body)}`;
    },
    check(token: string, now: Date): FormTokenVerdict {
      const m = SHAPE.exec(token);
      if (!m) return { ok: false, reason: 'invalid' };
      const body = `${m[1]}.${m[2]}`;
      const expected = Buffer.from(sign(body));
      const given = Buffer.from(m[3]!);
      if (expected.length !== given.length || !timingSafeEqual(expected, given))
        return { ok: false, reason: 'invalid' };
      const issued = Number(m[1]);
      const age = now.getTime() - issued;
      if (age < FORM_MIN_AGE_MS) return { ok: false, reason: age < -60_000 ? 'invalid' : 'too_fast' };
      if (age > FORM_MAX_AGE_MS) return { ok: false, reason: 'expired' };
      return {
        ok: true,
        nonceHash: createHash('sha256').update(m[2]!).digest('hex'),
        expiresAt: new Date(issued + FORM_MAX_AGE_MS),
      };
    },
  };
}
export type FormTokens = ReturnType<typeof createFormTokens>;
