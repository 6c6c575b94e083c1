-- Issue 15: the job runner's picture of each scheduled job, written by whichever instance ran it, so
-- the operator console shows one picture for all instances. A system table (withSystem): jobs belong
-- to the deployment, never to an organization. last_error is an error message only (no stack, no
-- payload), cut to 500 characters by the runner before it is written.
create table job_runs (
  name text primary key check (name ~ '^[a-z0-9][a-z0-9._-]{0,99}$'),
  every_ms bigint not null check (every_ms > 0),
  last_started_at timestamptz,
  last_finished_at timestamptz,
  last_outcome text check (last_outcome in ('succeeded', 'failed')),
  last_error text check (length(last_error) <= 500),
  consecutive_failures integer not null default 0 check (consecutive_failures >= 0),
  total_runs bigint not null default 0 check (total_runs >= 0)
);

alter table job_runs enable row level security;
alter table job_runs force row level security;
create policy job_runs_system on job_runs using (rampart_system_context()) with check (rampart_system_context());
grant select, insert, update, delete on job_runs to rampart_runtime;
