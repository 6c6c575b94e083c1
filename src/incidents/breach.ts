import type { Logger } from 'pino';
import { type Actor, type OrgService, orgOwnersForOperator } from '../orgs/index.js';
import { type Operator, type OperatorConsole, operatorActor } from '../operator/index.js';
import { appendAudit, orgStream, systemStream } from '../platform/audit/events.js';
import type { Clock } from '../platform/clock.js';
import type { Tenancy } from '../platform/db/database.js';
import type { Mailer } from '../platform/mail/index.js';
import { when } from '../platform/views/format.js';
import { incidentError } from './errors.js';
import { DEADLINE_LABELS, type DeadlineKey, deadlines, NOTIFY_WITHIN_MS, REPORT_WITHIN_MS } from './model.js';
import * as repo from './repository.js';
import type { IncidentCore } from './service.js';

/*
 * Personal-data breaches (GDPR Art. 33, 34): the deadlines from awareness, the notifications and
 * their reasons when late, the affected organizations' notices, and the mail once a deadline passes.
 */

export interface BreachDeps {
  db: Tenancy;
  clock: Clock;
  mailer: Mailer;
  logger: Logger;
  baseUrl: string;
  core: IncidentCore;
  orgs: OrgService;
  /** Who hears of an overdue deadline: every console account, and the security contact if it is an address. */
  recipients(): Promise<string[]>;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const COLUMNS = {
  customers: { at: 'customers_notified_at', reason: 'customers_late_reason' },
  regulator: { at: 'regulator_notified_at', reason: 'regulator_late_reason' },
  report: { at: 'full_report_at', reason: 'full_report_late_reason' },
} as const;

const EMAIL = /^[^\s@<>()",;:]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$/;

/** Every console account, and the security contact when it is an e-mail address (not a URL). */
export const deadlineRecipients = (console: OperatorConsole) => async (): Promise<string[]> => {
  const users = (await console.users()).map((u) => u.email);
  const contact = (await console.settings()).securityContact;
  return [...new Set([...users, ...(contact && EMAIL.test(contact) ? [contact.toLowerCase()] : [])])];
};

export type Breaches = ReturnType<typeof createBreaches>;

export function createBreaches(deps: BreachDeps) {
  const { db, clock, core } = deps;

  /** A notification at `at`; past its deadline it needs the reasons for the delay (Art. 33(1)). */
  async function recordNotification(
    id: string,
    key: DeadlineKey,
    input: { at?: Date; lateReason?: string },
    by: Operator,
  ): Promise<void> {
    const now = clock.now();
    await db.withSystem(async (tx) => {
      const row = await core.open(tx, id);
      if (!row.breach || !row.aware_at) throw incidentError('breach_not_recorded');
      if (key === 'regulator' && !row.regulator_required) throw incidentError('breach_regulator_not_required');
      if (row[COLUMNS[key].at]) throw incidentError('breach_already_notified');
      const at = input.at ?? now;
      if (Number.isNaN(at.getTime()) || at < row.aware_at || at.getTime() > now.getTime() + 60_000)
        throw incidentError('incident_invalid', {
          fields: [
            { field: `notifiedAt-${key}`, message: 'Give a time after you became aware and not in the future.' },
          ],
        });
      const deadline = deadlines(row, now).find((d) => d.key === key)!;
      const late = at > deadline.due;
      const reason = input.lateReason?.trim() || null;
      if (late && !reason) throw incidentError('breach_notification_late', { fields: lateField(key) });
      await repo.updateIncident(tx, id, { [COLUMNS[key].at]: at, [COLUMNS[key].reason]: late ? reason : null });
      await core.audit(tx, 'incident.breach_notified', operatorActor(by), id, {
        deadline: key,
        at: at.toISOString(),
        due: deadline.due.toISOString(),
        late,
        lateReason: late ? reason : null,
      });
    });
  }

  const lateField = (key: DeadlineKey) => [
    { field: `lateReason-${key}`, message: 'Past the deadline: give the reasons for the delay.' },
  ];

  return {
    recordNotification,

    async recordDetails(
      id: string,
      input: { facts: string; effects: string; remedialAction: string },
      by: Operator,
    ): Promise<void> {
      await db.withSystem(async (tx) => {
        const row = await core.open(tx, id);
        if (!row.breach) throw incidentError('breach_not_recorded');
        await repo.updateIncident(tx, id, {
          facts: input.facts || null,
          effects: input.effects || null,
          remedial_action: input.remedialAction || null,
        });
        await core.audit(tx, 'incident.breach_recorded', operatorActor(by), id, { ...input });
      });
    },

    /**
     * Each organization gets the notice on its "Security notices" page (its own tenant row and audit
     * event), its owners a mail; the first time counts as the customers' notification.
     */
    async notifyOrgs(
      id: string,
      input: { orgIds: string[]; message: string; lateReason?: string },
      by: Operator,
    ): Promise<{ notified: number }> {
      const now = clock.now();
      const ids = [...new Set(input.orgIds.map((s) => s.trim().toLowerCase()).filter(Boolean))];
      const badIds = ids.filter((o) => !UUID.test(o));
      const found = await Promise.all(ids.filter((o) => UUID.test(o)).map((o) => orgOwnersForOperator(db, o)));
      const missing = ids.filter((o) => UUID.test(o) && !found.some((f) => f?.id === o));
      if (ids.length === 0 || ids.length > 200 || badIds.length > 0 || missing.length > 0)
        throw incidentError('incident_invalid', {
          fields: [
            {
              field: 'orgIds',
              message:
                ids.length === 0
                  ? 'Give the ids of the affected organizations, one a line.'
                  : `No such organization: ${[...badIds, ...missing].slice(0, 5).join(', ')}.`,
            },
          ],
        });
      const detail = await core.detail(id);
      if (!detail) throw incidentError('incident_not_found');
      const { row } = detail;
      if (row.closed_at) throw incidentError('incident_closed');
      if (!row.breach || !row.aware_at) throw incidentError('breach_not_recorded');
      const due = new Date(row.aware_at.getTime() + NOTIFY_WITHIN_MS);
      const reason = input.lateReason?.trim() || undefined;
      if (!row.customers_notified_at && now > due && !reason)
        throw incidentError('breach_notification_late', {
          fields: [{ field: 'noticeLateReason', message: 'Past the deadline: give the reasons for the delay.' }],
        });
      const orgs = found.filter((f) => f !== undefined);
      const mails: { to: string; subject: string; text: string }[] = [];
      for (const org of orgs) {
        await db.withTenant(org.id, async (tx) => {
          const notice = await repo.insertNotice(tx, {
            org_id: org.id,
            incident_id: id,
            title: row.title,
            body: input.message,
            published_at: now,
          });
          if (!notice) return;
          await appendAudit(
            tx,
            {
              stream: orgStream(org.id),
              action: 'incident.orgs_notified',
              actor: operatorActor(by),
              target: `security_notice:${notice.id}`,
              payload: { incident: id, owners: org.owners.length },
            },
            clock,
          );
          for (const to of org.owners)
            mails.push({
              to,
              subject: `Security notice: ${row.title}`,
              text:
                `${input.message}\n\nThis notice concerns your organization "${org.name}". It is also on the ` +
                `organization's Security notices page: ${deps.baseUrl}/orgs/${org.id}/security-notices\n`,
            });
        });
      }
      await db.withSystem(async (tx) => {
        const locked = await core.open(tx, id);
        let added = 0;
        for (const org of orgs)
          if (
            await repo.insertAffectedOrg(tx, {
              incident_id: id,
              org_id: org.id,
              org_name: org.name,
              notified_at: now,
              recipients: org.owners.length,
            })
          )
            added++;
        if (!locked.customers_notified_at)
          await repo.updateIncident(tx, id, {
            customers_notified_at: now,
            customers_late_reason: now > due ? (reason ?? null) : null,
          });
        await appendAudit(
          tx,
          {
            stream: systemStream,
            action: 'incident.orgs_notified',
            actor: operatorActor(by),
            target: `incident:${id}`,
            payload: { orgs: orgs.map((o) => o.id), added, late: now > due, lateReason: now > due ? reason : null },
          },
          clock,
        );
      });
      for (const mail of mails)
        deps.mailer.send(mail).catch((err) => deps.logger.error({ err }, 'a security notice mail failed'));
      return { notified: orgs.length };
    },

    /** The notices of one organization, for any member (tenant rows: one org never sees another's). */
    notices: (actor: Actor, orgId: string) =>
      deps.orgs.withPermission(actor, orgId, 'security_notices.read', (tx) => repo.noticesOf(tx, orgId)),

    mailOverdue: () => mailOverdueDeadlines(deps),

    /** The breach register (Art. 33(5)): facts, effects, remedial action, notifications and when. */
    async register() {
      const now = clock.now();
      return db.withSystem(async (tx) => {
        const rows = await repo.breaches(tx);
        const orgs = await repo.affectedOrgs(
          tx,
          rows.map((r) => r.id),
        );
        return rows.map((r) => ({
          id: r.id,
          title: r.title,
          severity: r.severity,
          phase: r.phase,
          awareAt: r.aware_at!.toISOString(),
          declaredAt: r.declared_at.toISOString(),
          facts: r.facts ?? '',
          effects: r.effects ?? '',
          remedialAction: r.remedial_action ?? '',
          regulatorRequired: r.regulator_required,
          deadlines: deadlines(r, now).map((d) => ({
            deadline: d.key,
            due: d.due.toISOString(),
            doneAt: d.doneAt?.toISOString() ?? null,
            late: d.late,
            overdue: d.overdue,
            lateReason: d.lateReason,
          })),
          affectedOrganizations: orgs
            .filter((o) => o.incident_id === r.id)
            .map((o) => ({
              id: o.org_id,
              name: o.org_name,
              notifiedAt: o.notified_at.toISOString(),
              recipients: o.recipients,
            })),
          closedAt: r.closed_at?.toISOString() ?? null,
        }));
      });
    },
  };
}

/**
 * The job 'incidents.deadlines': each overdue deadline is claimed by one run (a conditional update,
 * whatever the number of instances), then mailed once; a mail that fails is unclaimed for the next run.
 */
export async function mailOverdueDeadlines(
  deps: Pick<BreachDeps, 'db' | 'clock' | 'mailer' | 'logger' | 'baseUrl' | 'recipients'>,
): Promise<number> {
  const { db, clock } = deps;
  const now = clock.now();
  const cutoffs: Record<DeadlineKey, Date> = {
    customers: new Date(now.getTime() - NOTIFY_WITHIN_MS),
    regulator: new Date(now.getTime() - NOTIFY_WITHIN_MS),
    report: new Date(now.getTime() - REPORT_WITHIN_MS),
  };
  const recipients = await deps.recipients();
  let sent = 0;
  for (const key of Object.keys(cutoffs) as DeadlineKey[]) {
    const claimed = await db.withSystem(async (tx) => {
      const rows = await repo.claimOverdue(tx, key, cutoffs[key], now);
      for (const r of rows)
        await appendAudit(
          tx,
          {
            stream: systemStream,
            action: 'incident.deadline_mailed',
            actor: 'system:incidents.deadlines',
            target: `incident:${r.id}`,
            payload: { deadline: key, recipients: recipients.length },
          },
          clock,
        );
      return rows;
    });
    for (const r of claimed) {
      const due = new Date(r.aware_at!.getTime() + (key === 'report' ? REPORT_WITHIN_MS : NOTIFY_WITHIN_MS));
      const text =
        `The deadline "${DEADLINE_LABELS[key]}" of the personal-data breach "${r.title}" passed at ` +
        `${when(due)} (aware since ${when(r.aware_at!)}), and nothing is recorded.\n\n` +
        `Record it, with the reasons for the delay: ${deps.baseUrl}/operator/incidents/${r.id}\n`;
      try {
        await Promise.all(
          recipients.map((to) => deps.mailer.send({ to, subject: `Overdue breach deadline: ${r.title}`, text })),
        );
        sent++;
      } catch (err) {
        deps.logger.error({ err, incident: r.id, deadline: key }, 'overdue deadline mail failed; retried next run');
        await db.withSystem((tx) => repo.unclaim(tx, key, r.id));
      }
    }
  }
  return sent;
}
