-- X3: vulnerability reports sent through /security/report, their timeline, and the acknowledgement
-- deadline. System tables, reached through withSystem(): a reporter needs no account and belongs to no
-- organization. The status link's token is random and 256 bits long, so only its SHA-256 is kept.
create table disclosure_reports (
  id uuid primary key default gen_random_uuid(),
  reference text not null unique check (reference ~ '^VR-[A-Z2-7]{4}-[A-Z2-7]{4}-[A-Z2-7]{4}$'),
  status_token_hash text not null unique check (status_token_hash ~ '^[0-9a-f]{64}$'),
  summary text not null check (length(summary) between 1 and 200),
  details text not null check (length(details) between 1 and 20000),
  affected text check (length(affected) <= 500),
  reporter_email text not null check (length(reporter_email) between 3 and 254),
  reporter_name text check (length(reporter_name) <= 100),
  credit_name text check (length(credit_name) between 1 and 100),
  status text not null check (status in ('new', 'acknowledged', 'triaging', 'resolved', 'not_applicable', 'duplicate')),
  received_at timestamptz not null,
  ack_due_at timestamptz not null,
  acknowledged_at timestamptz,
  resolved_at timestamptz,
  -- Set once by the deadline job that mails about a missed acknowledgement: the claim that makes it once.
  deadline_notified_at timestamptz
);
create index disclosure_reports_received on disclosure_reports (received_at desc);
create index disclosure_reports_unacknowledged on disclosure_reports (ack_due_at) where acknowledged_at is null;

-- The resolution timeline of a report: each status change and each note (each also an audit event).
create table disclosure_timeline (
  id uuid primary key default gen_random_uuid(),
  report_id uuid not null references disclosure_reports (id) on delete cascade,
  at timestamptz not null,
  actor text not null check (length(actor) between 1 and 300),
  kind text not null check (kind in ('received', 'status', 'note')),
  status text check (status in ('new', 'acknowledged', 'triaging', 'resolved', 'not_applicable', 'duplicate')),
  note text check (length(note) <= 4000)
);
create index disclosure_timeline_report on disclosure_timeline (report_id, at);

-- The report form's tokens that were spent: each is single-use. Kept until the token would have expired.
create table disclosure_form_tokens (
  nonce_hash text primary key check (nonce_hash ~ '^[0-9a-f]{64}$'),
  expires_at timestamptz not null
);
create index disclosure_form_tokens_expires on disclosure_form_tokens (expires_at);

-- The operator's disclosure settings: the acknowledgement deadline in business days. One row.
create table disclosure_settings (
  id smallint primary key default 1 check (id = 1),
  ack_business_days integer not null check (ack_business_days between 1 and 30),
  updated_at timestamptz not null
);

do $$
declare
  t text;
begin
  foreach t in array array['disclosure_reports', 'disclosure_timeline', 'disclosure_form_tokens',
                           'disclosure_settings'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format(
      'create policy %I on %I using (rampart_system_context()) with check (rampart_system_context())',
      t || '_system', t);
    execute format('grant select, insert, update, delete on %I to rampart_runtime', t);
  end loop;
end
$$;
