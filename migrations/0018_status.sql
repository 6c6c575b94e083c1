-- X2: the public status page. System tables, reached through withSystem(): the page speaks for
-- the whole deployment, above every organization.

-- The components the operator lists on the page, in their order, with the state the operator set.
-- The state shown is the worst of this and the impacts of open public incidents on the component.
create table status_components (
  id text primary key check (id ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
  name text not null check (length(name) between 1 and 80),
  description text not null default '' check (length(description) <= 500),
  position integer not null check (position between 0 and 10000),
  operator_state text not null default 'operational'
    check (operator_state in ('operational', 'degraded', 'partial_outage', 'major_outage', 'maintenance')),
  created_at timestamptz not null,
  updated_at timestamptz not null
);
create unique index status_components_name on status_components (lower(name));

-- Uptime, one row per component and UTC day: the minutes observed, and of those the minutes in each
-- state that is not operational. A minute is counted once across instances (status_minutes).
create table status_days (
  component_id text not null references status_components (id) on delete cascade,
  day text not null check (day ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$'),
  observed integer not null default 0 check (observed between 0 and 1440),
  degraded integer not null default 0 check (degraded between 0 and 1440),
  partial integer not null default 0 check (partial between 0 and 1440),
  major integer not null default 0 check (major between 0 and 1440),
  maintenance integer not null default 0 check (maintenance between 0 and 1440),
  primary key (component_id, day)
);

-- The minutes already recorded: the instance whose insert wins records that minute for every component.
create table status_minutes (
  minute timestamptz primary key
);

-- Optional HTTPS probes of a component (T3: https with certificate validation; loopback http in dev only).
create table status_probes (
  id uuid primary key default gen_random_uuid(),
  component_id text not null references status_components (id) on delete cascade,
  url text not null check (length(url) between 8 and 500),
  expected_status integer not null check (expected_status between 100 and 599),
  created_at timestamptz not null,
  claimed_until timestamptz,
  failures integer not null default 0 check (failures >= 0),
  last_checked_at timestamptz,
  last_ok boolean,
  last_detail text check (length(last_detail) <= 300),
  draft_incident_id text check (length(draft_incident_id) <= 100)
);
create index status_probes_component on status_probes (component_id);

create table status_probe_results (
  id uuid primary key default gen_random_uuid(),
  probe_id uuid not null references status_probes (id) on delete cascade,
  checked_at timestamptz not null,
  ok boolean not null,
  http_status integer check (http_status between 100 and 599),
  duration_ms integer not null check (duration_ms >= 0),
  detail text not null check (length(detail) <= 300)
);
create index status_probe_results_probe on status_probe_results (probe_id, checked_at desc);
create index status_probe_results_checked on status_probe_results (checked_at);

-- Subscribers by e-mail, confirmed (double opt-in). The unsubscribe token is derived from the id with
-- a deployment key, so each mail can carry it; only its SHA-256 is kept here for the lookup.
create table status_subscribers (
  id uuid primary key default gen_random_uuid(),
  email text not null unique check (length(email) between 3 and 254),
  all_components boolean not null,
  unsubscribe_hash text not null unique check (unsubscribe_hash ~ '^[0-9a-f]{64}$'),
  confirmed_at timestamptz not null
);
create table status_subscriber_components (
  subscriber_id uuid not null references status_subscribers (id) on delete cascade,
  component_id text not null references status_components (id) on delete cascade,
  primary key (subscriber_id, component_id)
);

-- A sign-up waiting for its confirm link (256-bit token, SHA-256 kept, expiring, used once).
create table status_pending_subscriptions (
  confirm_hash text primary key check (confirm_hash ~ '^[0-9a-f]{64}$'),
  email text not null check (length(email) between 3 and 254),
  all_components boolean not null,
  components jsonb not null,
  created_at timestamptz not null,
  expires_at timestamptz not null
);
create index status_pending_subscriptions_email on status_pending_subscriptions (email);
create index status_pending_subscriptions_expires on status_pending_subscriptions (expires_at);

-- Each public incident update mailed to a subscriber once: the instance whose insert wins sends it.
create table status_notifications (
  subscriber_id uuid not null references status_subscribers (id) on delete cascade,
  update_key text not null check (length(update_key) <= 200),
  claimed_at timestamptz not null,
  primary key (subscriber_id, update_key)
);

-- RFC 8058: the dev mailbox keeps the extra headers a message carries (List-Unsubscribe ...).
alter table dev_mailbox add column headers jsonb;

do $$
declare
  t text;
begin
  foreach t in array array['status_components', 'status_days', 'status_minutes', 'status_probes',
    'status_probe_results', 'status_subscribers', 'status_subscriber_components',
    'status_pending_subscriptions', 'status_notifications'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format(
      'create policy %I on %I using (rampart_system_context()) with check (rampart_system_context())',
      t || '_system', t);
    execute format('grant select, insert, update, delete on %I to rampart_runtime', t);
  end loop;
end
$$;
