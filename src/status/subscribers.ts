import { createHmac, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { appendAudit, systemStream } from '../platform/audit/events.js';
import type { Clock } from '../platform/clock.js';
import { hashToken, looksLikeToken, randomToken } from '../platform/crypto/tokens.js';
import type { Tenancy } from '../platform/db/database.js';
import { rateLimited } from '../platform/errors.js';
import type { Limits } from '../platform/limits/limiter.js';
import type { Mailer } from '../platform/mail/index.js';
import { statusError } from './errors.js';
import type { Phase, PublicIncident } from './incidents-port.js';

/*
 * X2 e-mail subscribers: double opt-in (a 256-bit confirm token, SHA-256 kept, 24 h, used once),
 * one-click unsubscribe (RFC 8058), and never a word about whether an address already follows
 * the page: every sign-up gets the same answer and the same confirm mail.
 */

export const CONFIRM_TTL_MS = 24 * 60 * 60 * 1000;
const HOUR = 3600;
// One plain ASCII address: a display name, a comma or odd Unicode could fan a mail out or spoof one.
const LABEL = '[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?';
const ADDRESS = new RegExp(`^[A-Za-z0-9.!#$%&'*+/=?^_\\\`{|}~-]{1,64}@${LABEL}(?:\\.${LABEL})+$`);

export const PHASE_LABEL: Record<Phase, string> = {
  identify: 'Investigating',
  contain: 'Identified',
  eradicate: 'Fixing',
  recover: 'Monitoring',
  review: 'Resolved',
  closed: 'Resolved',
};

export interface SubscribeInput {
  email: string;
  /** Component ids, or 'all'. */
  components: string[] | 'all';
}

export type SubscriberService = ReturnType<typeof createSubscriberService>;

export function createSubscriberService(deps: {
  db: Tenancy;
  clock: Clock;
  limits: Limits;
  mailer: Mailer;
  logger: Logger;
  baseUrl: string;
  productName: () => Promise<string>;
  key: Buffer;
  componentIds: () => Promise<string[]>;
}) {
  const { db, clock, mailer } = deps;
  const byIp = deps.limits.limiter('status_subscribe_ip', { points: 10, durationSec: HOUR });
  const byAddress = deps.limits.limiter('status_subscribe_address', { points: 3, durationSec: HOUR });
  const unsubscribeToken = (subscriberId: string) =>
    createHmac('sha256', deps.key).update(subscriberId).digest().toString('base64url');
  const unsubscribeUrl = (subscriberId: string) =>
    `${deps.baseUrl}/status/unsubscribe?token=${unsubscribeToken(subscriberId)}`;

  async function mailUpdate(
    sub: { id: string; email: string },
    incident: PublicIncident,
    update: { phase: Phase; message: string } | undefined,
  ) {
    const product = await deps.productName();
    const link = `${deps.baseUrl}/status/incidents/${encodeURIComponent(incident.id)}`;
    const state = update ? PHASE_LABEL[update.phase] : 'Published';
    const unsubscribe = unsubscribeUrl(sub.id);
    await mailer.send({
      to: sub.email,
      subject: `[${product} status] ${incident.title}: ${state}`,
      text:
        `${incident.title}\n${state}${update ? `: ${update.message}` : ''}\n\n` +
        `Follow it on the status page: ${link}\n\n` +
        `You get this because you subscribed to ${product} status updates. Unsubscribe: ${unsubscribe}\n`,
      headers: { 'List-Unsubscribe': `<${unsubscribe}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' },
    });
  }

  return {
    unsubscribeUrl,

    /** Always the same answer for an address (sent, already following or not); 429 per address of the caller. */
    async subscribe(input: SubscribeInput, ip: string): Promise<void> {
      const email = input.email.trim().toLowerCase();
      const known = new Set(await deps.componentIds());
      const fields = [];
      if (email.length > 254 || !ADDRESS.test(email))
        fields.push({ field: 'email', message: 'Give one e-mail address, like name@example.com.' });
      if (
        input.components !== 'all' &&
        (input.components.length === 0 || input.components.length > 100 || input.components.some((c) => !known.has(c)))
      )
        fields.push({ field: 'components', message: 'Choose all components or at least one from the list.' });
      if (fields.length) throw statusError('status_subscription_invalid', { fields });
      const limit = await byIp.consume(ip);
      if (!limit.allowed) throw rateLimited(limit.retryAfterSec);
      // An address asked for too often gets no more mail for a while; the caller is told nothing different.
      if (!(await byAddress.consume(email)).allowed) return;
      const token = randomToken();
      const now = clock.now();
      await db.withSystem(async (tx) => {
        await tx.deleteFrom('status_pending_subscriptions').where('expires_at', '<', now).execute();
        await tx
          .insertInto('status_pending_subscriptions')
          .values({
            confirm_hash: hashToken(token),
            email,
            all_components: input.components === 'all',
            components: JSON.stringify(input.components === 'all' ? [] : [...new Set(input.components)]),
            created_at: now,
            expires_at: new Date(now.getTime() + CONFIRM_TTL_MS),
          })
          .execute();
      });
      const product = await deps.productName();
      await mailer.send({
        to: email,
        subject: `Confirm your ${product} status subscription`,
        text:
          `Someone (we hope you) asked for ${product} status updates at this address.\n\n` +
          `Confirm within 24 hours: ${deps.baseUrl}/status/subscribe/confirm?token=${token}\n\n` +
          'If it was not you, ignore this mail: nothing is sent without the confirmation.\n',
      });
    },

    /** Whether a confirm token is live (the GET page shows its button only then); consumes nothing. */
    async pending(token: string): Promise<boolean> {
      if (!looksLikeToken(token)) return false;
      const row = await db.withSystem((tx) =>
        tx
          .selectFrom('status_pending_subscriptions')
          .select('expires_at')
          .where('confirm_hash', '=', hashToken(token))
          .executeTakeFirst(),
      );
      return row !== undefined && row.expires_at > clock.now();
    },

    /** Confirms once: the token is gone afterwards; a replayed or expired one is refused. */
    async confirm(token: string): Promise<void> {
      if (!looksLikeToken(token)) throw statusError('status_link_expired');
      const now = clock.now();
      await db.withSystem(async (tx) => {
        const row = await tx
          .deleteFrom('status_pending_subscriptions')
          .where('confirm_hash', '=', hashToken(token))
          .returningAll()
          .executeTakeFirst();
        if (!row || row.expires_at <= now) throw statusError('status_link_expired');
        const existing = await tx
          .selectFrom('status_subscribers')
          .select('id')
          .where('email', '=', row.email)
          .executeTakeFirst();
        let id = existing?.id;
        if (id) {
          await tx
            .updateTable('status_subscribers')
            .set({ all_components: row.all_components, confirmed_at: now })
            .where('id', '=', id)
            .execute();
          await tx.deleteFrom('status_subscriber_components').where('subscriber_id', '=', id).execute();
        } else {
          id = randomUUID();
          await tx
            .insertInto('status_subscribers')
            .values({
              id,
              email: row.email,
              all_components: row.all_components,
              unsubscribe_hash: hashToken(unsubscribeToken(id)),
              confirmed_at: now,
            })
            .execute();
        }
        const known = new Set((await tx.selectFrom('status_components').select('id').execute()).map((c) => c.id));
        const components = (row.components as string[]).filter((c) => known.has(c));
        if (components.length)
          await tx
            .insertInto('status_subscriber_components')
            .values(components.map((component_id) => ({ subscriber_id: id!, component_id })))
            .execute();
        await appendAudit(
          tx,
          {
            stream: systemStream,
            action: 'status.subscriber_confirmed',
            target: `status_subscriber:${id}`,
            payload: { all: row.all_components, components },
          },
          clock,
        );
      });
    },

    /** Idempotent: an unknown token of the right shape is answered like a used one (nothing to tell). */
    async unsubscribe(token: string): Promise<void> {
      if (!looksLikeToken(token)) throw statusError('status_link_expired');
      await db.withSystem(async (tx) => {
        const row = await tx
          .deleteFrom('status_subscribers')
          .where('unsubscribe_hash', '=', hashToken(token))
          .returning('id')
          .executeTakeFirst();
        if (row)
          await appendAudit(
            tx,
            { stream: systemStream, action: 'status.subscriber_removed', target: `status_subscriber:${row.id}` },
            clock,
          );
      });
    },

    /**
     * Mails the newest public update of an incident to those who follow its components, each once:
     * the instance whose claim row goes in sends it.
     */
    async notify(incident: PublicIncident): Promise<number> {
      const update = incident.updates[0];
      // The count tells apart two updates written in the same millisecond.
      const key = `${incident.id}:${incident.updates.length}:${update ? update.at.toISOString() : 'published'}`;
      const subs = await db.withSystem((tx) =>
        tx
          .selectFrom('status_subscribers')
          .select(['id', 'email'])
          .where((eb) =>
            eb.or([
              eb('all_components', '=', true),
              ...(incident.components.length
                ? [
                    eb(
                      'id',
                      'in',
                      eb
                        .selectFrom('status_subscriber_components')
                        .select('subscriber_id')
                        .where('component_id', 'in', incident.components),
                    ),
                  ]
                : []),
            ]),
          )
          .execute(),
      );
      let sent = 0;
      for (const sub of subs) {
        const claimed = await db.withSystem((tx) =>
          tx
            .insertInto('status_notifications')
            .values({ subscriber_id: sub.id, update_key: key, claimed_at: clock.now() })
            .onConflict((oc) => oc.columns(['subscriber_id', 'update_key']).doNothing())
            .returning('subscriber_id')
            .executeTakeFirst(),
        );
        if (!claimed) continue;
        try {
          await mailUpdate(sub, incident, update);
          sent++;
        } catch (err) {
          deps.logger.error({ err, subscriber: sub.id, incident: incident.id }, 'status update mail failed');
        }
      }
      return sent;
    },

    count: async () =>
      Number(
        (
          await db.withSystem((tx) =>
            tx
              .selectFrom('status_subscribers')
              .select((eb) => eb.fn.countAll().as('n'))
              .executeTakeFirstOrThrow(),
          )
        ).n,
      ),
  };
}
