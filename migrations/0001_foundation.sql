-- Roles. The runtime role owns nothing, cannot bypass row-level security and inherits nothing;
-- every request runs as it. Roles are cluster-wide, so create it only once.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'rampart_runtime') then
    create role rampart_runtime login nosuperuser nocreatedb nocreaterole noinherit nobypassrls;
  end if;
exception when duplicate_object then null; -- another database on this server created it first
end
$$;

revoke create on schema public from public;
grant usage on schema public to rampart_runtime;

-- The organization the current transaction works for (set by withTenant / withSystem), or null.
create function rampart_current_org() returns uuid
  language sql stable
  as $$ select nullif(current_setting('rampart.org_id', true), '')::uuid $$;

-- Audit chain (L1). One table holds every stream: org streams carry their org's id; personal
-- and system streams carry the nil UUID, which only withSystem() sets. So org_id is never null
-- and one policy isolates every stream.
create table audit_events (
  id bigint generated always as identity primary key,
  org_id uuid not null,
  stream text not null,
  seq bigint not null check (seq > 0),
  occurred_at timestamptz not null,
  actor text,
  action text not null,
  target text,
  ip text,
  user_agent text,
  request_id text,
  payload jsonb not null,
  prev_hash text not null,
  hash text not null,
  unique (stream, seq),
  check (
    (stream = 'org:' || org_id::text and org_id <> '00000000-0000-0000-0000-000000000000')
    or (stream not like 'org:%' and org_id = '00000000-0000-0000-0000-000000000000')
  )
);

-- The last event of each stream: appends lock it, so a stream's chain stays linear, and
-- verification compares against it, so deleting the newest event is noticed too.
create table audit_heads (
  stream text primary key,
  org_id uuid not null,
  seq bigint not null,
  hash text not null
);

create function audit_events_append_only() returns trigger
  language plpgsql
  as $$
begin
  raise exception 'audit_events is append-only' using errcode = 'insufficient_privilege';
end
$$;

create trigger audit_events_no_update before update or delete on audit_events
  for each row execute function audit_events_append_only();
create trigger audit_events_no_truncate before truncate on audit_events
  for each statement execute function audit_events_append_only();

alter table audit_events enable row level security;
alter table audit_events force row level security;
create policy audit_events_tenant on audit_events
  using (org_id = rampart_current_org())
  with check (org_id = rampart_current_org());

alter table audit_heads enable row level security;
alter table audit_heads force row level security;
create policy audit_heads_tenant on audit_heads
  using (org_id = rampart_current_org())
  with check (org_id = rampart_current_org());

grant select, insert on audit_events to rampart_runtime;
grant select, insert, update on audit_heads to rampart_runtime;

-- Messages kept instead of sent while in dev mode (shown at /dev/mailbox).
create table dev_mailbox (
  id uuid primary key default gen_random_uuid(),
  created_at timestamptz not null default now(),
  to_address text not null,
  from_address text not null,
  subject text not null,
  text_body text not null,
  html_body text
);
grant select, insert, delete on dev_mailbox to rampart_runtime;

-- Read-only role for verifying every stream at once (`rampart audit verify`): the owner switches
-- to it, because forced row-level security hides tenant rows from the owner too.
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'rampart_auditor') then
    create role rampart_auditor nologin nosuperuser nocreatedb nocreaterole nobypassrls;
  end if;
exception when duplicate_object then null;
end
$$;
grant rampart_auditor to current_user;
grant usage on schema public to rampart_auditor;
grant select on audit_events, audit_heads to rampart_auditor;
create policy audit_events_auditor on audit_events for select to rampart_auditor using (true);
create policy audit_heads_auditor on audit_heads for select to rampart_auditor using (true);
