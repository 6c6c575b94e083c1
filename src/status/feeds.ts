import type { PublicIncident } from './incidents-port.js';
import type { ShownComponent } from './service.js';
import { type ComponentState, worst } from './states.js';
import { PHASE_LABEL } from './subscribers.js';

/*
 * The machine-readable faces of the status page: a Statuspage-compatible /status/summary.json
 * (their public API v2 field names) and an Atom 1.0 feed with one entry per public update.
 */

const STATUSPAGE_COMPONENT: Record<ComponentState, string> = {
  operational: 'operational',
  degraded: 'degraded_performance',
  partial_outage: 'partial_outage',
  major_outage: 'major_outage',
  maintenance: 'under_maintenance',
};

const INDICATOR: Record<ComponentState, { indicator: string; description: string }> = {
  operational: { indicator: 'none', description: 'All Systems Operational' },
  maintenance: { indicator: 'maintenance', description: 'Service Under Maintenance' },
  degraded: { indicator: 'minor', description: 'Minor Service Outage' },
  partial_outage: { indicator: 'major', description: 'Partial System Outage' },
  major_outage: { indicator: 'critical', description: 'Major System Outage' },
};

const IMPACT: Record<PublicIncident['impact'], string> = {
  degraded: 'minor',
  partial_outage: 'major',
  major_outage: 'critical',
  maintenance: 'maintenance',
};

export const overall = (components: readonly ShownComponent[]) => INDICATOR[worst(components.map((c) => c.state))];

function incidentStatus(i: PublicIncident, phase = i.phase, now = new Date()): string {
  if (i.kind === 'maintenance') {
    if (i.resolvedAt || phase === 'review' || phase === 'closed') return 'completed';
    if (phase === 'recover') return 'verifying';
    return i.scheduledStart && i.scheduledStart > now ? 'scheduled' : 'in_progress';
  }
  if (i.resolvedAt || phase === 'review' || phase === 'closed') return i.report ? 'postmortem' : 'resolved';
  return { identify: 'investigating', contain: 'identified', eradicate: 'identified', recover: 'monitoring' }[phase];
}

const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null);

function statuspageIncident(i: PublicIncident, base: string, pageId: string, components: ShownComponent[], now: Date) {
  const affected = components.filter((c) => i.components.includes(c.id));
  const updatedAt = i.updates[0]?.at ?? i.startedAt;
  const monitoring = i.updates.filter((u) => u.phase === 'recover').at(-1)?.at ?? null;
  return {
    id: i.id,
    name: i.title,
    status: incidentStatus(i, i.phase, now),
    created_at: iso(i.startedAt),
    updated_at: iso(updatedAt),
    monitoring_at: iso(monitoring),
    resolved_at: iso(i.resolvedAt),
    impact: IMPACT[i.impact],
    shortlink: `${base}/status/incidents/${encodeURIComponent(i.id)}`,
    started_at: iso(i.startedAt),
    page_id: pageId,
    ...(i.kind === 'maintenance' ? { scheduled_for: iso(i.scheduledStart), scheduled_until: iso(i.scheduledEnd) } : {}),
    incident_updates: i.updates.map((u, n) => ({
      id: `${i.id}-${i.updates.length - n}`,
      status: incidentStatus(i, u.phase, now),
      body: u.message,
      incident_id: i.id,
      created_at: iso(u.at),
      updated_at: iso(u.at),
      display_at: iso(u.at),
      affected_components: affected.map((c) => ({
        code: c.id,
        name: c.name,
        old_status: 'operational',
        new_status: STATUSPAGE_COMPONENT[i.impact === 'maintenance' ? 'maintenance' : i.impact],
      })),
    })),
    components: affected.map((c) => statuspageComponent(c, pageId)),
  };
}

function statuspageComponent(c: ShownComponent, pageId: string) {
  return {
    id: c.id,
    name: c.name,
    status: STATUSPAGE_COMPONENT[c.state],
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
    position: c.position + 1,
    description: c.description || null,
    showcase: true,
    start_date: c.createdAt.toISOString().slice(0, 10),
    group_id: null,
    page_id: pageId,
    group: false,
    only_show_if_degraded: false,
  };
}

export function summaryJson(input: {
  baseUrl: string;
  productName: string;
  components: ShownComponent[];
  incidents: PublicIncident[];
  now: Date;
}) {
  const { baseUrl, components, incidents, now } = input;
  const pageId = 'rampart';
  const open = incidents.filter((i) => !i.resolvedAt && i.phase !== 'review' && i.phase !== 'closed');
  const updated = [
    ...components.map((c) => c.updatedAt.getTime()),
    ...incidents.map((i) => (i.updates[0]?.at ?? i.startedAt).getTime()),
  ];
  return {
    page: {
      id: pageId,
      name: input.productName,
      url: `${baseUrl}/status`,
      time_zone: 'Etc/UTC',
      updated_at: new Date(updated.length ? Math.max(...updated) : now.getTime()).toISOString(),
    },
    components: components.map((c) => statuspageComponent(c, pageId)),
    incidents: open
      .filter((i) => i.kind === 'incident')
      .map((i) => statuspageIncident(i, baseUrl, pageId, components, now)),
    scheduled_maintenances: open
      .filter((i) => i.kind === 'maintenance')
      .map((i) => statuspageIncident(i, baseUrl, pageId, components, now)),
    status: overall(components),
  };
}

const xml = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    // biome-ignore lint/suspicious/noControlCharactersInRegex: characters XML 1.0 cannot carry at all
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g, '\ufffd')
    .replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd');

/** Atom 1.0 (RFC 4287): one entry per public update of each incident, newest first. */
export function atomFeed(input: { baseUrl: string; productName: string; incidents: PublicIncident[]; now: Date }) {
  const { baseUrl } = input;
  const entries = input.incidents
    .flatMap((i) =>
      i.updates.map((u, n) => ({
        id: `${baseUrl}/status/incidents/${encodeURIComponent(i.id)}#update-${i.updates.length - n}`,
        link: `${baseUrl}/status/incidents/${encodeURIComponent(i.id)}`,
        title: `${i.title}: ${PHASE_LABEL[u.phase]}`,
        at: u.at,
        body: u.message,
      })),
    )
    .sort((a, b) => b.at.getTime() - a.at.getTime());
  const updated = entries[0]?.at ?? input.now;
  const lines = [
    '<?xml version="1.0" encoding="utf-8"?>',
    '<feed xmlns="http://www.w3.org/2005/Atom">',
    `  <id>${xml(`${baseUrl}/status`)}</id>`,
    `  <title>${xml(`${input.productName} status`)}</title>`,
    `  <updated>${updated.toISOString()}</updated>`,
    `  <link rel="alternate" type="text/html" href="${xml(`${baseUrl}/status`)}"/>`,
    `  <link rel="self" type="application/atom+xml" href="${xml(`${baseUrl}/status/feed.atom`)}"/>`,
    `  <author><name>${xml(input.productName)}</name></author>`,
    ...entries.map((e) =>
      [
        '  <entry>',
        `    <id>${xml(e.id)}</id>`,
        `    <title>${xml(e.title)}</title>`,
        `    <updated>${e.at.toISOString()}</updated>`,
        `    <link rel="alternate" type="text/html" href="${xml(e.link)}"/>`,
        `    <content type="text">${xml(e.body)}</content>`,
        '  </entry>',
      ].join('\n'),
    ),
    '</feed>',
    '',
  ];
  return lines.join('\n');
}
