-- D1, A7 (connections), issue 15: the credential vault. Customers' third-party keys and OAuth tokens,
-- sealed under a key-encryption key of their own organization, which the master keyring wraps.

-- One key-encryption key per organization, sealed by the master keyring (bound to the org). Clearing
-- it (destroyed_at set, kek_sealed null) makes every credential of the organization unreadable:
-- crypto-shredding, used by organization deletion.
create table org_keys (
  org_id uuid primary key references organizations (id) on delete cascade,
  kek_sealed text,
  created_at timestamptz not null,
  destroyed_at timestamptz,
  check ((kek_sealed is null) = (destroyed_at is not null))
);

-- The providers a connection may be made to, configured by the operator: where its key may be sent
-- (allowed HTTPS hosts), how it is presented, and how a pasted key is checked.
create table vault_providers (
  id text primary key check (id ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
  name text not null check (length(name) between 1 and 60),
  kind text not null check (kind in ('api_key', 'oauth')),
  allowed_hosts text[] not null check (cardinality(allowed_hosts) between 1 and 20),
  -- bearer: Authorization: Bearer <key>; basic: username + password; header: <auth_name>: <key>;
  -- query: ?<auth_name>=<key>. OAuth providers present their access token as bearer.
  auth_style text not null check (auth_style in ('bearer', 'basic', 'header', 'query')),
  auth_name text check (auth_name is null or length(auth_name) between 1 and 100),
  -- The request that tells a valid key from an invalid one (optional): GET https://<first host><path>.
  validation_method text check (validation_method in ('GET', 'HEAD', 'POST')),
  validation_path text check (validation_path is null or length(validation_path) between 1 and 500),
  -- OAuth 2.0 (authorization code + PKCE) toward the provider's authorization server.
  oauth_authorization_endpoint text,
  oauth_token_endpoint text,
  oauth_revocation_endpoint text,
  oauth_client_id text,
  oauth_client_secret_sealed text,
  oauth_scopes text,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  check ((auth_style in ('header', 'query')) = (auth_name is not null)),
  check ((validation_method is null) = (validation_path is null)),
  check (kind = 'api_key' or (oauth_authorization_endpoint is not null and oauth_token_endpoint is not null
                              and oauth_client_id is not null and auth_style = 'bearer'))
);

-- An organization's connection to one provider. Everything here may be shown; the secrets are in
-- vault_secrets. mask and fingerprint tell keys apart without revealing them.
create table vault_connections (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references organizations (id) on delete cascade,
  provider_id text not null references vault_providers (id),
  label text not null check (length(label) between 1 and 80),
  kind text not null check (kind in ('api_key', 'oauth')),
  status text not null check (status in ('unchecked', 'valid', 'invalid', 'revoked', 'refresh_failed', 'error')),
  status_detail text check (status_detail is null or length(status_detail) <= 300),
  checked_at timestamptz,
  mask text not null check (length(mask) <= 40),
  fingerprint text not null check (fingerprint ~ '^[0-9a-f]{8,16}$'),
  -- OAuth: when the access token expires, and a lease held by the one instance refreshing it.
  token_expires_at timestamptz,
  refresh_lease_until timestamptz,
  created_by uuid references users (id) on delete set null,
  created_at timestamptz not null,
  updated_at timestamptz not null,
  unique (org_id, label)
);
create index vault_connections_org on vault_connections (org_id);

-- The sealed secret fields of a connection (api_key; username and password; access_token and
-- refresh_token). Each is bound (AEAD) to its org, connection, field and provider.
create table vault_secrets (
  connection_id uuid not null references vault_connections (id) on delete cascade,
  org_id uuid not null references organizations (id) on delete cascade,
  field text not null check (field ~ '^[a-z][a-z_]{0,39}$'),
  sealed text not null,
  primary key (connection_id, field)
);
create index vault_secrets_org on vault_secrets (org_id);

do $$
declare
  t text;
begin
  foreach t in array array['org_keys', 'vault_connections', 'vault_secrets'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format(
      'create policy %I on %I using (org_id = rampart_current_org()) with check (org_id = rampart_current_org())',
      t || '_tenant', t);
    execute format('grant select, insert, update, delete on %I to rampart_runtime', t);
  end loop;
end
$$;

-- OAuth connections on their way through the provider: single use, ten minutes, looked up by the hash
-- of the state before the organization is known (the redirect URI is one for the deployment). The
-- PKCE verifier is sealed.
create table vault_oauth_flows (
  state_hash text primary key check (state_hash ~ '^[0-9a-f]{64}$'),
  org_id uuid not null references organizations (id) on delete cascade,
  provider_id text not null references vault_providers (id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  browser_hash text not null,
  label text not null check (length(label) between 1 and 80),
  code_verifier_sealed text not null,
  created_at timestamptz not null,
  expires_at timestamptz not null,
  used_at timestamptz
);
create index vault_oauth_flows_expiry on vault_oauth_flows (expires_at);

do $$
declare
  t text;
begin
  foreach t in array array['vault_providers', 'vault_oauth_flows'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format(
      'create policy %I on %I using (rampart_system_context()) with check (rampart_system_context())',
      t || '_system', t);
    execute format('grant select, insert, update, delete on %I to rampart_runtime', t);
  end loop;
end
$$;

-- The scheduled re-check and the operator's "is this provider in use" see which connections exist
-- (never their secrets: vault_secrets stays tenant-only).
create policy vault_connections_directory on vault_connections for select using (rampart_system_context());
-- D3: the rewrap walks every organization's key in system transactions (the wrapped KEK only; the
-- secrets under it are never touched by a master key rotation).
create policy org_keys_rewrap on org_keys using (rampart_system_context()) with check (rampart_system_context());
