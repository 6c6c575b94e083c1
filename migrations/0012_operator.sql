-- The operator: the people who run this deployment, acting through the API with operator tokens
-- (`rampart operator tokens create`). System tables, reached through withSystem(): an operator
-- stands above every organization. A token is random and 256 bits long, so its SHA-256 is what is
-- kept; the token itself is printed once.
create table operator_tokens (
  id uuid primary key default gen_random_uuid(),
  name text not null check (name ~ '^[A-Za-z0-9._-]{1,64}$'),
  token_hash text not null unique check (token_hash ~ '^[0-9a-f]{64}$'),
  created_at timestamptz not null,
  last_used_at timestamptz,
  revoked_at timestamptz
);
-- A name is the operator's handle on a live token; a revoked token's name may be given again.
create unique index operator_tokens_live_name on operator_tokens (name) where revoked_at is null;

-- A10/S3: each back-channel logout delivery to a product and how it ended, for the operator to see
-- (`rampart clients list`, GET /api/v1/operator/clients/:id). Pruned after 30 days.
create table oidc_backchannel_deliveries (
  id uuid primary key default gen_random_uuid(),
  client_id text not null references oidc_clients (client_id) on delete cascade,
  delivered boolean not null,
  attempts integer not null check (attempts between 1 and 100),
  last_error text check (length(last_error) <= 500),
  finished_at timestamptz not null
);
create index oidc_backchannel_deliveries_client on oidc_backchannel_deliveries (client_id, finished_at desc);
create index oidc_backchannel_deliveries_finished on oidc_backchannel_deliveries (finished_at);

do $$
declare
  t text;
begin
  foreach t in array array['operator_tokens', 'oidc_backchannel_deliveries'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format(
      'create policy %I on %I using (rampart_system_context()) with check (rampart_system_context())',
      t || '_system', t);
    execute format('grant select, insert, update, delete on %I to rampart_runtime', t);
  end loop;
end
$$;
