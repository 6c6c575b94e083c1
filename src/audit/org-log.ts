import type { Clock } from '../platform/clock.js';
import type { RequestContext } from '../platform/request-context.js';
import type { Actor, OrgService } from '../orgs/index.js';
import { actorRef } from '../orgs/index.js';
import { allEvents, queryEvents, toCsv, toJsonLines, type EventFilter, type EventPage } from './log.js';
import { appendAudit, orgStream, verifyChain, type ChainVerdict } from '../platform/audit/events.js';

export type ExportFormat = 'csv' | 'jsonl';

/** L2: an organization's audit log for its owners and admins. */
export function createOrgAuditLog(deps: { orgs: OrgService; clock: Clock }) {
  const { orgs, clock } = deps;
  return {
    query: (
      actor: Actor,
      orgId: string,
      filter: EventFilter,
      page: { before?: number; limit?: number },
    ): Promise<EventPage> =>
      orgs.withPermission(actor, orgId, 'audit.read', (tx) => queryEvents(tx, orgStream(orgId), filter, page)),

    verify: (actor: Actor, orgId: string): Promise<ChainVerdict> =>
      orgs.withPermission(actor, orgId, 'audit.read', (tx) => verifyChain(tx, `org:${orgId}`)),

    /** The export is itself recorded, in the same transaction that read the events. */
    export: (
      actor: Actor,
      orgId: string,
      filter: EventFilter,
      format: ExportFormat,
      context: RequestContext,
    ): Promise<{ body: string; count: number }> =>
      orgs.withPermission(actor, orgId, 'audit.export', async (tx) => {
        const events = await allEvents(tx, orgStream(orgId), filter);
        await appendAudit(
          tx,
          {
            stream: orgStream(orgId),
            action: 'audit.exported',
            actor: actorRef(actor),
            context,
            payload: {
              format,
              count: events.length,
              filter: { ...filter, from: filter.from?.toISOString(), to: filter.to?.toISOString() },
            },
          },
          clock,
        );
        return { body: format === 'csv' ? toCsv(events) : toJsonLines(events), count: events.length };
      }),
  };
}

export type OrgAuditLog = ReturnType<typeof createOrgAuditLog>;
