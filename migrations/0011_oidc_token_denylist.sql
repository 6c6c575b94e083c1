-- A10, S3: the JWT access tokens Rampart issued, so that introspection (RFC 7662) can say a
-- revoked one is inactive and revocation (RFC 7009) can revoke one before it expires. A system
-- table like the other OpenID ones: a token is looked up by its `jti` before anyone knows whose it
-- is. One row per access token, written when the token is signed (before it leaves Rampart), kept
-- until shortly after the token expires and then swept.
--
-- It is both the denylist (revoked_at) and the link from a token to its grant: the JWT itself
-- names no grant, and a token whose row is missing introspects inactive (fail closed).
create table oidc_access_tokens (
  jti text primary key check (length(jti) between 1 and 128),
  grant_id text not null,
  client_id text not null references oidc_clients (client_id) on delete cascade,
  expires_at timestamptz not null,
  revoked_at timestamptz
);
create index oidc_access_tokens_expiry on oidc_access_tokens (expires_at);

alter table oidc_access_tokens enable row level security;
alter table oidc_access_tokens force row level security;
create policy oidc_access_tokens_system on oidc_access_tokens
  using (rampart_system_context()) with check (rampart_system_context());
grant select, insert, update, delete on oidc_access_tokens to rampart_runtime;
