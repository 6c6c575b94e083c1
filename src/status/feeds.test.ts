import { parseDocument } from 'htmlparser2';
import { describe, expect, it } from 'vitest';
import { atomFeed, summaryJson } from './feeds.js';
import type { PublicIncident } from './incidents-port.js';
import { type ShownComponent, shownStates, type StatusComponent } from './service.js';

const now = new Date('2026-12-03T12:00:00Z');
const at = (iso: string) => new Date(iso);

const component = (id: string, name: string, position: number): StatusComponent => ({
  id,
  name,
  description: '',
  position,
  operatorState: 'operational',
  createdAt: at('2026-11-01T00:00:00Z'),
  updatedAt: at('2026-11-01T00:00:00Z'),
});

const incident = (over: Partial<PublicIncident>): PublicIncident => ({
  id: 'inc-1',
  title: 'API errors',
  severity: 'high',
  kind: 'incident',
  impact: 'partial_outage',
  components: ['api'],
  phase: 'contain',
  startedAt: at('2026-12-03T10:00:00Z'),
  resolvedAt: null,
  scheduledStart: null,
  scheduledEnd: null,
  updates: [
    { at: at('2026-12-03T10:30:00Z'), phase: 'contain', message: 'Found it: a bad <deploy> & rollback' },
    { at: at('2026-12-03T10:05:00Z'), phase: 'identify', message: 'Looking into errors' },
  ],
  report: null,
  reportDue: false,
  ...over,
});

const maintenance = incident({
  id: 'mnt-1',
  title: 'Database upgrade',
  kind: 'maintenance',
  impact: 'maintenance',
  components: ['web'],
  phase: 'identify',
  scheduledStart: at('2026-12-04T01:00:00Z'),
  scheduledEnd: at('2026-12-04T02:00:00Z'),
  updates: [{ at: at('2026-12-02T09:00:00Z'), phase: 'identify', message: 'Scheduled' }],
});
const resolved = incident({
  id: 'old-1',
  title: 'Sign-in slow',
  impact: 'degraded',
  phase: 'closed',
  resolvedAt: at('2026-11-20T11:00:00Z'),
  startedAt: at('2026-11-20T10:00:00Z'),
  updates: [{ at: at('2026-11-20T11:00:00Z'), phase: 'closed', message: 'Fixed' }],
});

const incidents = [incident({}), maintenance, resolved];
const shown: ShownComponent[] = shownStates([component('api', 'API', 0), component('web', 'Web', 1)], incidents, now);

describe('shown states', () => {
  it('[X2] a component shows the worst of its operator state and open incidents; future maintenance: none', () => {
    expect(shown.map((c) => [c.id, c.state])).toEqual([
      ['api', 'partial_outage'],
      ['web', 'operational'],
    ]);
    const during = shownStates([component('web', 'Web', 0)], [maintenance], at('2026-12-04T01:30:00Z'));
    expect(during[0]!.state).toBe('maintenance');
    const worse = shownStates([{ ...component('api', 'API', 0), operatorState: 'major_outage' }], incidents, now);
    expect(worse[0]!.state).toBe('major_outage');
  });
});

describe('summary.json', () => {
  it('[X2] has the Statuspage v2 summary shape and field names', () => {
    const s = summaryJson({
      baseUrl: 'https://auth.example.com',
      productName: 'Acme',
      components: shown,
      incidents,
      now,
    });
    expect(Object.keys(s).sort()).toEqual(['components', 'incidents', 'page', 'scheduled_maintenances', 'status']);
    expect(s.page).toMatchObject({
      id: 'rampart',
      name: 'Acme',
      url: 'https://auth.example.com/status',
      time_zone: 'Etc/UTC',
    });
    expect(s.status).toEqual({ indicator: 'major', description: 'Partial System Outage' });
    expect(s.components.map((c) => [c.id, c.status, c.position])).toEqual([
      ['api', 'partial_outage', 1],
      ['web', 'operational', 2],
    ]);
    expect(Object.keys(s.components[0]!).sort()).toEqual(
      [
        'created_at',
        'description',
        'group',
        'group_id',
        'id',
        'name',
        'only_show_if_degraded',
        'page_id',
        'position',
        'showcase',
        'start_date',
        'status',
        'updated_at',
      ].sort(),
    );
    expect(s.incidents).toHaveLength(1); // unresolved incidents only
    const i = s.incidents[0]!;
    expect(i).toMatchObject({
      id: 'inc-1',
      name: 'API errors',
      status: 'identified',
      impact: 'major',
      resolved_at: null,
      shortlink: 'https://auth.example.com/status/incidents/inc-1',
      created_at: '2026-12-03T10:00:00.000Z',
      updated_at: '2026-12-03T10:30:00.000Z',
    });
    expect(i.incident_updates.map((u) => [u.status, u.body])).toEqual([
      ['identified', 'Found it: a bad <deploy> & rollback'],
      ['investigating', 'Looking into errors'],
    ]);
    expect(i.components.map((c) => c.id)).toEqual(['api']);
    expect(s.scheduled_maintenances).toHaveLength(1);
    expect(s.scheduled_maintenances[0]).toMatchObject({
      id: 'mnt-1',
      status: 'scheduled',
      impact: 'maintenance',
      scheduled_for: '2026-12-04T01:00:00.000Z',
      scheduled_until: '2026-12-04T02:00:00.000Z',
    });
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
  });

  it('[X2] all operational reads "All Systems Operational" with indicator none', () => {
    const calm = shownStates([component('api', 'API', 0)], [resolved], now);
    expect(
      summaryJson({ baseUrl: 'https://a.example', productName: 'A', components: calm, incidents: [resolved], now })
        .status,
    ).toEqual({ indicator: 'none', description: 'All Systems Operational' });
  });
});

describe('Atom feed', () => {
  it('[X2] is Atom 1.0 with one entry per public update, newest first, text escaped', () => {
    const body = atomFeed({ baseUrl: 'https://auth.example.com', productName: 'Acme & Co', incidents, now });
    expect(body).toContain('<content type="text">Found it: a bad &lt;deploy&gt; &amp; rollback</content>');
    expect(body.startsWith('<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">')).toBe(
      true,
    );
    const doc = parseDocument(body, { xmlMode: true });
    const feed = doc.children.find((n) => 'name' in n && n.name === 'feed') as unknown as Element;
    const kids = (el: Element, name: string) => el.children.filter((n) => 'name' in n && n.name === name) as Element[];
    const text = (el: Element) => (el.children[0] as unknown as { data: string } | undefined)?.data ?? '';
    for (const required of ['id', 'title', 'updated', 'author']) expect(kids(feed, required)).toHaveLength(1);
    expect(text(kids(feed, 'title')[0]!)).toBe('Acme & Co status');
    const entries = kids(feed, 'entry');
    expect(entries).toHaveLength(4);
    expect(entries.map((e) => text(kids(e, 'updated')[0]!))).toEqual([
      '2026-12-03T10:30:00.000Z',
      '2026-12-03T10:05:00.000Z',
      '2026-12-02T09:00:00.000Z',
      '2026-11-20T11:00:00.000Z',
    ]);
    expect(text(kids(entries[0]!, 'title')[0]!)).toBe('API errors: Identified');
    expect(text(kids(entries[0]!, 'content')[0]!)).toBe('Found it: a bad <deploy> & rollback');
    expect(text(kids(entries[0]!, 'id')[0]!)).toBe('https://auth.example.com/status/incidents/inc-1#update-2');
    expect(new Set(entries.map((e) => text(kids(e, 'id')[0]!))).size).toBe(4);
    expect(text(kids(feed, 'updated')[0]!)).toBe('2026-12-03T10:30:00.000Z');
  });

  it('[X2] characters XML cannot carry are replaced, so the feed stays well-formed', () => {
    const odd = incident({
      title: 'bad\u0001title\ud800',
      updates: [{ at: now, phase: 'identify', message: 'x\u0000y' }],
    });
    const body = atomFeed({ baseUrl: 'https://a.example', productName: 'A', incidents: [odd], now });
    expect(body).toContain('<title>bad\ufffdtitle\ufffd: Investigating</title>');
    expect(body).toContain('x\ufffdy');
  });
});

interface Element {
  name: string;
  children: (Element | { data: string })[];
}
