-- Incidents (X1) and the public incidents of the status page (X2). System tables, reached through
-- withSystem(): the operator runs incidents for the whole deployment. What an affected organization
-- is told (a security notice) is a tenant row of that organization.

-- The response targets per severity, in minutes after an incident is declared. One row; absent means
-- the defaults (critical immediate, high 4 h, medium 24 h, low 72 h).
create table incident_settings (
  id smallint primary key default 1 check (id = 1),
  critical_minutes integer not null check (critical_minutes between 0 and 43200),
  high_minutes integer not null check (high_minutes between 0 and 43200),
  medium_minutes integer not null check (medium_minutes between 0 and 43200),
  low_minutes integer not null check (low_minutes between 0 and 43200),
  updated_at timestamptz not null
);

create table incidents (
  id uuid primary key default gen_random_uuid(),
  title text not null check (length(title) between 1 and 200),
  kind text not null check (kind in ('incident', 'maintenance')),
  severity text not null check (severity in ('critical', 'high', 'medium', 'low')),
  -- A draft (opened by a failing probe) is not public and has no response clock until confirmed.
  draft boolean not null default false,
  public boolean not null default false,
  impact text not null check (impact in ('degraded', 'partial_outage', 'major_outage', 'maintenance')),
  components text[] not null default '{}',
  probe_component text check (length(probe_component) between 1 and 100),
  phase text not null check (phase in ('identify', 'contain', 'eradicate', 'recover', 'review', 'closed')),
  identify_at timestamptz not null,
  contain_at timestamptz,
  eradicate_at timestamptz,
  recover_at timestamptz,
  review_at timestamptz,
  closed_at timestamptz,
  declared_at timestamptz not null,
  respond_by timestamptz,
  responded_at timestamptz,
  started_at timestamptz not null,
  resolved_at timestamptz,
  scheduled_start timestamptz,
  scheduled_end timestamptz,
  report_body text check (length(report_body) between 1 and 20000),
  report_published_at timestamptz,
  -- A personal-data breach (GDPR Art. 33, 34): when the controller became aware, and the deadlines.
  breach boolean not null default false,
  aware_at timestamptz,
  regulator_required boolean not null default false,
  facts text check (length(facts) <= 5000),
  effects text check (length(effects) <= 5000),
  remedial_action text check (length(remedial_action) <= 5000),
  customers_notified_at timestamptz,
  customers_late_reason text check (length(customers_late_reason) between 1 and 2000),
  regulator_notified_at timestamptz,
  regulator_late_reason text check (length(regulator_late_reason) between 1 and 2000),
  full_report_at timestamptz,
  full_report_late_reason text check (length(full_report_late_reason) between 1 and 2000),
  -- Claimed (a conditional update) by the instance that mails an overdue deadline, once per deadline.
  customers_overdue_mailed_at timestamptz,
  regulator_overdue_mailed_at timestamptz,
  report_overdue_mailed_at timestamptz,
  created_by text not null check (length(created_by) between 1 and 300),
  check (breach = (aware_at is not null)),
  check (kind = 'incident' or (scheduled_start is not null and scheduled_end is not null and scheduled_end > scheduled_start)),
  check ((report_body is null) = (report_published_at is null))
);
-- One open draft per component: a failing probe on several instances opens it once.
create unique index incidents_open_probe_draft on incidents (probe_component) where draft and closed_at is null;
create index incidents_started on incidents (started_at desc);

create table incident_updates (
  id uuid primary key default gen_random_uuid(),
  incident_id uuid not null references incidents (id) on delete cascade,
  at timestamptz not null,
  phase text not null check (phase in ('identify', 'contain', 'eradicate', 'recover', 'review', 'closed')),
  message text not null check (length(message) between 1 and 5000),
  public boolean not null,
  author text not null check (length(author) between 1 and 300)
);
create index incident_updates_incident on incident_updates (incident_id, at desc);

-- The organizations a breach affected and when they were told (the register's notifications).
create table incident_affected_orgs (
  incident_id uuid not null references incidents (id) on delete cascade,
  org_id uuid not null,
  org_name text not null check (length(org_name) between 1 and 100),
  notified_at timestamptz not null,
  recipients integer not null check (recipients >= 0),
  primary key (incident_id, org_id)
);

do $$
declare
  t text;
begin
  foreach t in array array['incident_settings', 'incidents', 'incident_updates', 'incident_affected_orgs'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format(
      'create policy %I on %I using (rampart_system_context()) with check (rampart_system_context())',
      t || '_system', t);
    execute format('grant select, insert, update, delete on %I to rampart_runtime', t);
  end loop;
end
$$;

-- What an affected organization was told about a breach, shown on its "Security notices" page.
create table security_notices (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references organizations (id) on delete cascade,
  incident_id uuid not null,
  title text not null check (length(title) between 1 and 200),
  body text not null check (length(body) between 1 and 5000),
  published_at timestamptz not null,
  unique (org_id, incident_id)
);
create index security_notices_org on security_notices (org_id, published_at desc);
alter table security_notices enable row level security;
alter table security_notices force row level security;
create policy security_notices_tenant on security_notices
  using (org_id = rampart_current_org()) with check (org_id = rampart_current_org());
grant select, insert on security_notices to rampart_runtime;
