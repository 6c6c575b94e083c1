import type { TrustCheck } from '../feature.js';
import { probeTargetProblem } from './probe-check.js';
import type { ProbeService } from './probes.js';
import type { StatusService } from './service.js';

/** Text as the page renders it (Preact escapes &, < and " in text, and leaves > alone). */
const html = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/"/g, '&quot;');

/** X2's live checks: read from this instance, each able to fail. */
export function statusTrustChecks(deps: { status: StatusService; probes: ProbeService; dev: boolean }): TrustCheck[] {
  const { status, probes } = deps;
  return [
    {
      control: 'X2',
      id: 'status-page-lists-components',
      title: 'The public status page answers without an account and shows every component with its state',
      async run(probe) {
        const components = await status.components();
        if (components.length === 0)
          return { status: 'not_configured', detail: 'No components are listed: add them on /operator/status.' };
        const page = await probe.request('/status', { headers: { accept: 'text/html' } });
        if (page.status !== 200) return { status: 'failing', detail: `/status answered ${page.status}` };
        const missing = components.filter((c) => !page.body.includes(`id="component-${c.id}"`));
        const unnamed = components.filter((c) => !page.body.includes(html(c.name)));
        if (missing.length || unnamed.length)
          return {
            status: 'failing',
            detail: `/status lacks ${[...new Set([...missing, ...unnamed].map((c) => c.id))].join(', ')}`,
          };
        const summary = await probe.request('/status/summary.json');
        const listed = summary.status === 200 ? (JSON.parse(summary.body).components as { id: string }[]) : [];
        if (listed.length !== components.length)
          return {
            status: 'failing',
            detail: `summary.json lists ${listed.length} of ${components.length} components`,
          };
        return { status: 'passing', detail: `/status and summary.json show all ${components.length} components` };
      },
    },
    {
      control: 'X2',
      id: 'status-outage-reports',
      title: 'Every public outage longer than 30 minutes has its written report',
      async run() {
        const incidents = await status.publicIncidents();
        const due = incidents.filter((i) => i.reportDue);
        if (due.length)
          return {
            status: 'failing',
            detail: `report due for ${due.length}: ${due
              .slice(0, 5)
              .map((i) => i.title)
              .join('; ')}`,
          };
        const reported = incidents.filter((i) => i.report).length;
        return {
          status: 'passing',
          detail: `${incidents.length} public incidents in 90 days, none owes a report (${reported} published)`,
        };
      },
    },
    {
      control: 'X2',
      id: 'status-probes-https',
      title: 'Status probes reach their targets over HTTPS only (plain http:// to loopback in dev mode only)',
      async run() {
        const list = await probes.list();
        if (list.length === 0) return { status: 'not_configured', detail: 'No probes: they are optional.' };
        const bad = list.filter((p) => probeTargetProblem(p.url, deps.dev) !== null);
        if (bad.length) return { status: 'failing', detail: `refused targets: ${bad.map((p) => p.url).join(', ')}` };
        const failing = list.filter((p) => p.lastOk === false);
        return {
          status: 'passing',
          detail: `${list.length} probes, all https${deps.dev ? ' or dev loopback' : ''}; ${failing.length} failing`,
        };
      },
    },
  ];
}
