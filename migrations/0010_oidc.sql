-- A10: Rampart as the OpenID provider of the products in front of it. System tables, reached
-- through withSystem(): the provider looks its artifacts up by their identifier before it knows
-- whose they are (as api_key_directory does for a key id). Which organization a grant speaks for is
-- recorded in oidc_grants; tokens carry it as claims.

-- The products (relying parties), registered by the operator. A confidential client's secret is
-- random and 256 bits long, so its SHA-256 is what is kept; public clients have none (PKCE only).
create table oidc_clients (
  client_id text primary key check (client_id ~ '^[A-Za-z0-9._-]{3,64}$'),
  name text not null check (length(name) between 1 and 100),
  secret_hash text,
  redirect_uris text[] not null check (cardinality(redirect_uris) between 1 and 20),
  post_logout_redirect_uris text[] not null default '{}',
  backchannel_logout_uri text,
  first_party boolean not null,
  created_at timestamptz not null
);

-- oidc-provider's own artifacts (authorization codes, refresh tokens, grants, interactions,
-- provider sessions), one row each, as its adapter contract describes them.
create table oidc_artifacts (
  model text not null,
  id text not null,
  payload jsonb not null,
  grant_id text,
  client_id text,
  uid text,
  expires_at timestamptz,
  consumed_at timestamptz,
  primary key (model, id)
);
create index oidc_artifacts_grant on oidc_artifacts (grant_id) where grant_id is not null;
create index oidc_artifacts_client on oidc_artifacts (client_id) where client_id is not null;
create index oidc_artifacts_uid on oidc_artifacts (uid) where uid is not null;
create index oidc_artifacts_expiry on oidc_artifacts (expires_at) where expires_at is not null;

-- What a grant speaks for: the person, the organization chosen at sign-in, and the Rampart session
-- it came from (its tokens die with that session).
create table oidc_grants (
  grant_id text primary key,
  client_id text not null references oidc_clients (client_id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  -- Not a tenant column (this is a system table): the organization the person chose at sign-in, if any.
  chosen_org_id uuid references organizations (id) on delete cascade,
  session_id uuid not null references sessions (id) on delete cascade,
  -- How the person signed in for this grant (the amr, acr and auth_time claims).
  amr text[] not null,
  acr text not null,
  auth_time timestamptz not null,
  created_at timestamptz not null
);
create index oidc_grants_session on oidc_grants (session_id);
create index oidc_grants_user on oidc_grants (user_id);

-- Token signing keys (ES256). The private half is sealed by the master keyring. A key is published
-- from created_at, signs from signs_from, and stays published until unpublish_after, when every
-- token it signed has expired.
create table oidc_signing_keys (
  kid text primary key,
  alg text not null check (alg in ('ES256', 'EdDSA')),
  public_jwk jsonb not null,
  private_sealed text not null,
  created_at timestamptz not null,
  signs_from timestamptz not null,
  retired_at timestamptz,
  unpublish_after timestamptz
);

do $$
declare
  t text;
begin
  foreach t in array array['oidc_clients', 'oidc_artifacts', 'oidc_grants', 'oidc_signing_keys'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format(
      'create policy %I on %I using (rampart_system_context()) with check (rampart_system_context())',
      t || '_system', t);
    execute format('grant select, insert, update, delete on %I to rampart_runtime', t);
  end loop;
end
$$;
