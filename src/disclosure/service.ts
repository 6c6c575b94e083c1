import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { OperatorConsole } from '../operator/index.js';
import { type Operator, operatorActor } from '../operator/index.js';
import type { AuditAction } from '../platform/audit/actions.js';
import { appendAudit, systemStream } from '../platform/audit/events.js';
import type { Background } from '../platform/background.js';
import type { Clock } from '../platform/clock.js';
import { hashToken, looksLikeToken, randomToken } from '../platform/crypto/tokens.js';
import type { Tenancy, Tx } from '../platform/db/database.js';
import type { DisclosureStatus } from '../platform/db/tables.js';
import { rateLimited, type FieldError } from '../platform/errors.js';
import type { Limits } from '../platform/limits/limiter.js';
import type { Mailer } from '../platform/mail/index.js';
import type { RequestContext } from '../platform/request-context.js';
import { addBusinessDays } from './business-days.js';
import { disclosureError } from './errors.js';
import { createFormTokens } from './form-token.js';
import * as mails from './mails.js';
import * as repo from './repository.js';

export const DEFAULT_ACK_BUSINESS_DAYS = 2;

export const STATUS_LABELS: Record<DisclosureStatus, string> = {
  new: 'New',
  acknowledged: 'Acknowledged',
  triaging: 'Triaging',
  resolved: 'Resolved',
  not_applicable: 'Not applicable',
  duplicate: 'Duplicate',
};

/** The workflow: new → acknowledged → triaging → resolved / not applicable / duplicate; a closed report may reopen. */
export const TRANSITIONS: Record<DisclosureStatus, readonly DisclosureStatus[]> = {
  new: ['acknowledged', 'not_applicable', 'duplicate'],
  acknowledged: ['triaging', 'resolved', 'not_applicable', 'duplicate'],
  triaging: ['resolved', 'not_applicable', 'duplicate'],
  resolved: ['triaging'],
  not_applicable: ['triaging'],
  duplicate: ['triaging'],
};

export interface ReportInput {
  summary: string;
  details: string;
  affected?: string;
  email: string;
  name?: string;
  credit: boolean;
  creditName?: string;
  /** The honeypot: a field people never see. */
  website?: string;
  token: string;
}

export type Report = repo.ReportRow;
export type DeadlineState = 'met' | 'late' | 'pending' | 'missed';

/** Whether a report was (or is being) acknowledged in time. */
export function deadlineState(r: Pick<Report, 'ack_due_at' | 'acknowledged_at'>, now: Date): DeadlineState {
  if (r.acknowledged_at) return r.acknowledged_at <= r.ack_due_at ? 'met' : 'late';
  return now < r.ack_due_at ? 'pending' : 'missed';
}

const EMAIL = /^[^\s@<>()",;:]{1,64}@[A-Za-z0-9.-]{1,253}\.[A-Za-z]{2,63}$/;
/** Bidirectional overrides and isolates: they make text read differently from what it is (Trojan Source). */
const BIDI = /[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]/;
const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** VR-XXXX-XXXX-XXXX: 60 random bits, for people to quote (the status link's token is what grants access). */
function newReference(): string {
  const bytes = randomBytes(12);
  const chars = [...bytes].map((b) => BASE32[b & 31]).join('');
  return `VR-${chars.slice(0, 4)}-${chars.slice(4, 8)}-${chars.slice(8, 12)}`;
}

export interface DisclosureDeps {
  db: Tenancy;
  clock: Clock;
  limits: Limits;
  mailer: Mailer;
  background: Background;
  logger: Logger;
  operatorConsole: OperatorConsole;
  baseUrl: string;
  formKey: Buffer;
  reportsPerHour: number;
}

export type DisclosureService = ReturnType<typeof createDisclosureService>;

export function createDisclosureService(deps: DisclosureDeps) {
  const { db, clock, baseUrl } = deps;
  const tokens = createFormTokens(deps.formKey);
  const perIp = deps.limits.limiter('disclosure_reports', { points: deps.reportsPerHour, durationSec: 3600 });
  const audit = (tx: Tx, action: AuditAction, actor: string, report: { id: string; reference: string }, more = {}) =>
    appendAudit(
      tx,
      {
        stream: systemStream,
        action,
        actor,
        target: `disclosure_report:${report.id}`,
        payload: { reference: report.reference, ...more },
      },
      clock,
    );
  const mail = (message: { to: string; subject: string; text: string }) =>
    deps.background.run(() => deps.mailer.send(message));
  const ackDays = async () => (await db.withSystem((tx) => repo.ackBusinessDays(tx))) ?? DEFAULT_ACK_BUSINESS_DAYS;
  const statusLink = (token: string) => `${baseUrl}/security/report/status?token=${token}`;

  function problems(input: ReportInput): FieldError[] {
    const out: FieldError[] = [];
    for (const field of ['summary', 'affected', 'name', 'creditName', 'email'] as const) {
      const value = input[field];
      if (value && BIDI.test(value))
        out.push({ field, message: 'Remove the invisible text-direction characters from this field.' });
    }
    if (BIDI.test(input.details))
      out.push({ field: 'details', message: 'Remove the invisible text-direction characters (Trojan Source).' });
    if (!EMAIL.test(input.email)) out.push({ field: 'email', message: 'Give an e-mail address we can write to.' });
    if (input.credit && !input.creditName && !input.name)
      out.push({ field: 'creditName', message: 'Give the name to credit you with, or untick the box.' });
    return out;
  }

  return {
    ackDays,
    formToken: () => tokens.issue(clock.now()),

    /** Counts one form submission against its address (before the form is even read): rate_limited past the limit. */
    async admit(context: RequestContext): Promise<void> {
      const limit = await perIp.consume(context.ip ?? 'unknown');
      if (!limit.allowed) throw rateLimited(limit.retryAfterSec);
    },

    /** Takes an admitted report from the form: honeypot, form token, fields; mails the reporter its reference. */
    async submit(input: ReportInput, context: RequestContext): Promise<{ reference: string }> {
      if (input.website) {
        deps.logger.warn({ ip: context.ip }, 'report form honeypot filled');
        throw disclosureError('report_refused');
      }
      const now = clock.now();
      const verdict = tokens.check(input.token, now);
      if (!verdict.ok) throw disclosureError(verdict.reason === 'too_fast' ? 'report_too_fast' : 'report_form_expired');
      const fields = problems(input);
      if (fields.length > 0) throw disclosureError('report_invalid', { fields });

      const nfc = (s: string | undefined) => (s ? s.normalize('NFC') : null);
      const statusToken = randomToken();
      const days = await ackDays();
      const report = await db.withSystem(async (tx) => {
        if (!(await repo.spendFormToken(tx, verdict.nonceHash, verdict.expiresAt)))
          throw disclosureError('report_form_expired');
        const row = await repo.insertReport(tx, {
          reference: newReference(),
          status_token_hash: hashToken(statusToken),
          summary: input.summary.normalize('NFC'),
          details: input.details.normalize('NFC'),
          affected: nfc(input.affected),
          reporter_email: input.email.toLowerCase(),
          reporter_name: nfc(input.name),
          credit_name: input.credit ? nfc(input.creditName || input.name) : null,
          status: 'new',
          received_at: now,
          ack_due_at: addBusinessDays(now, days),
        });
        await repo.insertTimeline(tx, {
          report_id: row.id,
          at: now,
          actor: 'reporter',
          kind: 'received',
          status: 'new',
        });
        await appendAudit(
          tx,
          {
            stream: systemStream,
            action: 'disclosure.report_received',
            actor: 'reporter',
            target: `disclosure_report:${row.id}`,
            context,
            payload: {
              reference: row.reference,
              ackDueAt: row.ack_due_at.toISOString(),
              creditRequested: input.credit,
            },
          },
          clock,
        );
        return row;
      });
      const settings = await deps.operatorConsole.settings();
      mail(mails.received(settings.productName, report, statusLink(statusToken)));
      return { reference: report.reference };
    },

    /** What the reporter sees through the status link; report_not_found for any other token. */
    async byStatusToken(token: string) {
      if (!looksLikeToken(token)) throw disclosureError('report_not_found');
      return db.withSystem(async (tx) => {
        const report = await repo.reportByTokenHash(tx, hashToken(token));
        if (!report) throw disclosureError('report_not_found');
        const timeline = (await repo.timelineOf(tx, report.id)).filter((e) => e.kind !== 'note');
        return { report, timeline };
      });
    },

    list: () => db.withSystem((tx) => repo.listReports(tx, 500)),

    async get(id: string) {
      return db.withSystem(async (tx) => {
        const report = await repo.reportById(tx, id);
        if (!report) throw disclosureError('report_not_found');
        return { report, timeline: await repo.timelineOf(tx, id) };
      });
    },

    /** Moves a report on, with a timeline entry and its audit event in one transaction; mails the reporter. */
    async changeStatus(id: string, to: DisclosureStatus, by: Operator, note?: string): Promise<void> {
      const now = clock.now();
      const report = await db.withSystem(async (tx) => {
        const r = await repo.lockReport(tx, id);
        if (!r) throw disclosureError('report_not_found');
        if (!TRANSITIONS[r.status].includes(to)) throw disclosureError('report_transition_invalid');
        const first = r.acknowledged_at === null;
        await repo.setStatus(tx, id, {
          status: to,
          ...(first ? { acknowledged_at: now } : {}),
          resolved_at: to === 'resolved' ? now : to === 'triaging' ? null : r.resolved_at,
        });
        const actor = operatorActor(by);
        await repo.insertTimeline(tx, {
          report_id: id,
          at: now,
          actor,
          kind: 'status',
          status: to,
          note: note ?? null,
        });
        await audit(tx, 'disclosure.report_status_changed', actor, r, { from: r.status, to });
        return { ...r, status: to, acknowledged_at: r.acknowledged_at ?? now, firstAck: first };
      });
      const settings = await deps.operatorConsole.settings();
      mail(mails.statusChanged(settings.productName, report));
    },

    async addNote(id: string, note: string, by: Operator): Promise<void> {
      await db.withSystem(async (tx) => {
        const r = await repo.reportById(tx, id);
        if (!r) throw disclosureError('report_not_found');
        const actor = operatorActor(by);
        await repo.insertTimeline(tx, { report_id: id, at: clock.now(), actor, kind: 'note', note });
        await audit(tx, 'disclosure.report_note_added', actor, r, { length: note.length });
      });
    },

    async setAckDays(days: number, by: Operator): Promise<void> {
      if (!Number.isInteger(days) || days < 1 || days > 30) throw disclosureError('disclosure_settings_invalid');
      await db.withSystem(async (tx) => {
        const before = (await repo.ackBusinessDays(tx)) ?? DEFAULT_ACK_BUSINESS_DAYS;
        await repo.saveAckBusinessDays(tx, days, clock.now());
        await appendAudit(
          tx,
          {
            stream: systemStream,
            action: 'disclosure.settings_changed',
            actor: operatorActor(by),
            target: 'disclosure',
            payload: { ackBusinessDays: days, before },
          },
          clock,
        );
      });
    },

    overdueCount: () => db.withSystem((tx) => repo.overdueCount(tx, clock.now())),

    thanks: () => db.withSystem((tx) => repo.credited(tx)),

    /**
     * The 'disclosure.deadlines' job: claims each report whose deadline passed unacknowledged (once,
     * across instances and runs) and mails the console's accounts and the security contact about it.
     */
    async runDeadlines(): Promise<number> {
      const now = clock.now();
      const missed = await db.withSystem(async (tx) => {
        await repo.deleteSpentTokens(tx, now);
        const claimed = await repo.claimMissedDeadlines(tx, now);
        for (const r of claimed)
          await audit(tx, 'disclosure.deadline_missed', 'scheduler', r, { ackDueAt: r.ack_due_at.toISOString() });
        return claimed;
      });
      if (missed.length === 0) return 0;
      const [settings, users] = await Promise.all([deps.operatorConsole.settings(), deps.operatorConsole.users()]);
      const to = new Set(users.map((u) => u.email));
      if (settings.securityContact && EMAIL.test(settings.securityContact)) to.add(settings.securityContact);
      for (const r of missed)
        for (const address of to) mail(mails.deadlineMissed(settings.productName, r, address, baseUrl));
      if (to.size === 0) deps.logger.warn({ reports: missed.length }, 'report deadlines missed, and nobody to mail');
      return missed.length;
    },
  };
}
