-- D3: master key rotation. The key versions themselves live in the key file (never the database);
-- which one seals new values, and which are retired, is deployment-wide and lives here. One row.
-- root_sealed: the random root the app's subkeys (CSRF, device tokens, ...) are derived from, sealed
-- by the master keyring, so a rotation changes no derived key.
create table keyring_state (
  id smallint primary key default 1 check (id = 1),
  current_version bigint check (current_version between 1 and 4294967295),
  retired_versions bigint[] not null default '{}',
  root_sealed text,
  updated_at timestamptz not null
);

-- Each running instance, every ~30 s and after each reload: the versions it holds and the one it seals
-- under. Rotation waits until every instance seen in the last minute holds the new version.
create table keyring_instances (
  instance_id uuid primary key,
  versions bigint[] not null,
  current_version bigint not null,
  source text not null check (source in ('env', 'file')),
  seen_at timestamptz not null
);
create index keyring_instances_seen on keyring_instances (seen_at);

do $$
declare
  t text;
begin
  foreach t in array array['keyring_state', 'keyring_instances'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format(
      'create policy %I on %I using (rampart_system_context()) with check (rampart_system_context())',
      t || '_system', t);
    execute format('grant select, insert, update, delete on %I to rampart_runtime', t);
  end loop;
end
$$;
