-- X8: the live trust page. Each check's latest result, shared by every instance of the deployment
-- (the newest run wins), and each change of a check's status, kept as its history. System tables:
-- the trust page is the deployment's, above every organization.
create table trust_check_results (
  check_id text primary key check (check_id ~ '^[a-z0-9][a-z0-9._-]{0,79}$'),
  control text not null check (control ~ '^[A-Z][0-9]{1,2}$'),
  status text not null check (status in ('passing', 'failing', 'not_configured')),
  detail text not null check (length(detail) <= 1000),
  checked_at timestamptz not null,
  changed_at timestamptz not null
);

create table trust_check_changes (
  id uuid primary key default gen_random_uuid(),
  check_id text not null,
  control text not null,
  status text not null check (status in ('passing', 'failing', 'not_configured')),
  previous_status text check (previous_status in ('passing', 'failing', 'not_configured')),
  detail text not null check (length(detail) <= 1000),
  changed_at timestamptz not null
);
create index trust_check_changes_check on trust_check_changes (check_id, changed_at desc);
create index trust_check_changes_time on trust_check_changes (changed_at desc);

do $$
declare
  t text;
begin
  foreach t in array array['trust_check_results', 'trust_check_changes'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format(
      'create policy %I on %I using (rampart_system_context()) with check (rampart_system_context())',
      t || '_system', t);
    execute format('grant select, insert, update, delete on %I to rampart_runtime', t);
  end loop;
end
$$;
