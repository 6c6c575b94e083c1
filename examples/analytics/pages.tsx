import type { ComponentChildren } from 'preact';
import { renderToString } from 'preact-render-to-string';
import type { RampartIdentity } from '../../packages/node/src/index.js';
import { type Dashboard, type Invoice, money } from './data.js';

/** Who is signed in, as the header shows it on every page. */
export interface Viewer {
  email: string | undefined;
  identity: RampartIdentity;
}

export type Nav = 'dashboard' | 'team' | 'billing' | 'integrations' | 'none';

const NAV: { key: Nav; href: string; label: string }[] = [
  { key: 'dashboard', href: '/', label: 'Dashboard' },
  { key: 'team', href: '/team', label: 'Team settings' },
  { key: 'billing', href: '/billing', label: 'Billing export' },
  { key: 'integrations', href: '/integrations', label: 'Integrations' },
];

function Header(props: { viewer?: Viewer; current: Nav; here: string }) {
  const id = props.viewer?.identity;
  return (
    <header class="top">
      <div class="bar">
        <a class="brand" href="/">
          Acme Analytics
        </a>
        {props.viewer && (
          <form method="post" action="/logout" class="inline">
            <button type="submit" class="secondary">
              Sign out
            </button>
          </form>
        )}
      </div>
      {props.viewer && id && (
        <>
          <nav aria-label="Main">
            <ul>
              {NAV.map((n) => (
                <li>
                  <a href={n.href} aria-current={n.key === props.current ? 'page' : undefined}>
                    {n.label}
                  </a>
                </li>
              ))}
            </ul>
          </nav>
          <section class="who" aria-label="Signed in as">
            <dl>
              <div>
                <dt>E-mail</dt>
                <dd data-testid="email">{props.viewer.email ?? '(not shared)'}</dd>
              </div>
              <div>
                <dt>Organization</dt>
                <dd>
                  <code data-testid="org">{id.orgId ?? 'none'}</code>
                </dd>
              </div>
              <div>
                <dt>Role</dt>
                <dd data-testid="role">{id.role ?? 'none'}</dd>
              </div>
              <div>
                <dt>Sign-in</dt>
                <dd data-testid="factor">{id.secondFactor ? 'two factors' : 'one factor'}</dd>
              </div>
            </dl>
            <details>
              <summary>Permissions ({id.permissions.length})</summary>
              <ul class="perms" aria-label="Permissions">
                {id.permissions.map((p) => (
                  <li>
                    <code>{p}</code>
                  </li>
                ))}
              </ul>
            </details>
            <form method="post" action="/refresh" class="inline">
              <input type="hidden" name="next" value={props.here} />
              <button type="submit" class="secondary small">
                Refresh access
              </button>
            </form>
          </section>
        </>
      )}
    </header>
  );
}

export function page(
  title: string,
  body: ComponentChildren,
  opts: { viewer?: Viewer; current?: Nav; here?: string } = {},
): string {
  const html = renderToString(
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · Acme Analytics`}</title>
        <link rel="stylesheet" href="/app.css" />
        <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
      </head>
      <body>
        <a class="skip" href="#main">
          Skip to content
        </a>
        <Header viewer={opts.viewer} current={opts.current ?? 'none'} here={opts.here ?? '/'} />
        <main id="main">{body}</main>
        <footer>
          <p>An example product of Rampart: sign-in, roles and sign-out come from Rampart.</p>
        </footer>
      </body>
    </html>,
  );
  return `<!doctype html>${html}`;
}

export function Landing(props: { notice?: string; next?: string }) {
  const login = props.next && props.next !== '/' ? `/login?next=${encodeURIComponent(props.next)}` : '/login';
  return (
    <section class="narrow">
      <h1>Acme Analytics</h1>
      {props.notice && (
        <p role="status" class="notice">
          {props.notice}
        </p>
      )}
      <p>Traffic, sign-ups and conversion for your organization, in one place.</p>
      <p>
        <a class="button" href={login}>
          Sign in with Rampart
        </a>
      </p>
    </section>
  );
}

function BarChart(props: { data: Dashboard['week'] }) {
  const max = Math.max(...props.data.map((d) => d.visits));
  const w = 320;
  const h = 160;
  const bw = w / props.data.length;
  return (
    <svg viewBox={`0 0 ${w} ${h + 20}`} role="img" aria-labelledby="visits-title" class="chart">
      <title id="visits-title">
        Visits per day this week: {props.data.map((d) => `${d.label} ${d.visits}`).join(', ')}
      </title>
      {props.data.map((d, i) => {
        const bh = Math.round((d.visits / max) * (h - 10));
        return (
          <g>
            <rect x={i * bw + 6} y={h - bh} width={bw - 12} height={bh} rx="3" class="bar" />
            <text x={i * bw + bw / 2} y={h + 15} text-anchor="middle" class="axis">
              {d.label}
            </text>
          </g>
        );
      })}
    </svg>
  );
}

function LineChart(props: { data: number[] }) {
  const w = 320;
  const h = 120;
  const max = Math.max(...props.data);
  const min = Math.min(...props.data);
  const x = (i: number) => (i / (props.data.length - 1)) * (w - 10) + 5;
  const y = (v: number) => h - 5 - ((v - min) / Math.max(1, max - min)) * (h - 10);
  const points = props.data.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
  return (
    <svg viewBox={`0 0 ${w} ${h}`} role="img" aria-labelledby="active-title" class="chart">
      <title id="active-title">
        Weekly active users over twelve weeks, from {props.data[0]} to {props.data[props.data.length - 1]}
      </title>
      <polyline points={points} class="line" fill="none" />
    </svg>
  );
}

export function DashboardPage(props: { data: Dashboard }) {
  const d = props.data;
  return (
    <>
      <h1>Dashboard</h1>
      <ul class="stats" aria-label="This week">
        <li>
          <span class="label">Visitors</span>
          <span class="value">{d.visitors.toLocaleString('en-US')}</span>
        </li>
        <li>
          <span class="label">Sign-ups</span>
          <span class="value">{d.signups.toLocaleString('en-US')}</span>
        </li>
        <li>
          <span class="label">Conversion</span>
          <span class="value">{(d.conversion * 100).toFixed(1)}%</span>
        </li>
      </ul>
      <div class="charts">
        <section aria-labelledby="h-visits" class="card">
          <h2 id="h-visits">Visits per day</h2>
          <BarChart data={d.week} />
        </section>
        <section aria-labelledby="h-active" class="card">
          <h2 id="h-active">Weekly active users</h2>
          <LineChart data={d.active} />
        </section>
      </div>
    </>
  );
}

export interface TeamSettings {
  retentionDays: number;
  shareWithViewers: boolean;
}

export function TeamPage(props: { settings: TeamSettings; saved: boolean }) {
  const s = props.settings;
  return (
    <section class="narrow">
      <h1>Team settings</h1>
      {props.saved && (
        <p role="status" class="notice">
          Settings saved.
        </p>
      )}
      <p>Your role lets you manage your team's settings for this product.</p>
      <form method="post" action="/team" aria-label="Team settings">
        <label for="retention">Keep raw events for</label>
        <select id="retention" name="retention_days">
          {[30, 90, 365].map((n) => (
            <option value={String(n)} selected={n === s.retentionDays}>
              {n} days
            </option>
          ))}
        </select>
        <label class="check">
          <input type="checkbox" name="share_with_viewers" value="on" checked={s.shareWithViewers} />
          Share dashboards with viewers
        </label>
        <button type="submit">Save settings</button>
      </form>
    </section>
  );
}

export function BillingPage(props: { invoices: Invoice[] }) {
  return (
    <>
      <h1>Billing export</h1>
      <p>You confirmed a second factor for this sign-in, so billing data can be exported.</p>
      <div class="table">
        <table>
          <caption>Invoices</caption>
          <thead>
            <tr>
              <th scope="col">Invoice</th>
              <th scope="col">Period</th>
              <th scope="col">Amount</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {props.invoices.map((i) => (
              <tr>
                <td>{i.number}</td>
                <td>{i.period}</td>
                <td class="num">{money(i.amountCents)}</td>
                <td>{i.status}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <p>
        <a class="button" href="/billing/export.csv" download="invoices.csv">
          Download CSV
        </a>
      </p>
    </>
  );
}

export function ForbiddenPage(props: { what: string; permission: string; role: string | null }) {
  const role = <strong>{props.role ?? 'none'}</strong>;
  return (
    <section class="narrow">
      <h1>You cannot open {props.what}</h1>
      <p>
        It needs the permission <code>{props.permission}</code>, which your role {role} does not include. Ask an owner
        or admin of your organization.
      </p>
      <p>If your role was changed a moment ago, press “Refresh access” above: roles arrive with the next token.</p>
    </section>
  );
}

export function MessagePage(props: { title: string; children: ComponentChildren; signIn?: boolean }) {
  return (
    <section class="narrow">
      <h1>{props.title}</h1>
      {props.children}
      {props.signIn && (
        <p>
          <a class="button" href="/login">
            Sign in with Rampart
          </a>
        </p>
      )}
    </section>
  );
}
