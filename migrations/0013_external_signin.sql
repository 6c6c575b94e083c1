-- A7: sign-in through upstream OpenID providers. People are identified there by (issuer, sub), never
-- by their address; an address only ever creates a new account, and only when the upstream says it
-- verified it.

-- The upstream providers, configured by the operator (`rampart upstreams add`). The client secret is
-- sealed by the master keyring: Rampart must present it, so it cannot be kept as a hash.
create table upstream_providers (
  id text primary key check (id ~ '^[a-z0-9][a-z0-9-]{0,39}$'),
  name text not null check (length(name) between 1 and 60),
  issuer text not null check (length(issuer) between 8 and 500),
  client_id text not null check (length(client_id) between 1 and 500),
  client_secret_sealed text not null,
  created_at timestamptz not null
);

-- A person's linked upstream identities. Personal: a person sees their own, no organization reads them.
create table external_identities (
  id uuid primary key default gen_random_uuid(),
  user_id uuid not null references users (id) on delete cascade,
  provider_id text not null references upstream_providers (id) on delete cascade,
  issuer text not null,
  subject text not null check (length(subject) between 1 and 255),
  -- What the upstream called the person when the link was made (shown on the account page only).
  email text,
  created_at timestamptz not null,
  last_used_at timestamptz,
  unique (issuer, subject),
  unique (user_id, provider_id)
);

-- Sign-ins and links on their way through an upstream: single use, ten minutes. Looked up by the hash
-- of the state sent upstream, before anyone is known; the browser that started one holds a random
-- cookie whose hash is here too. The PKCE verifier is sealed; the nonce is no secret (it comes back
-- in the ID token) but must match.
create table external_signin_flows (
  state_hash text primary key,
  provider_id text not null references upstream_providers (id) on delete cascade,
  browser_hash text not null,
  nonce text not null,
  code_verifier_sealed text not null,
  purpose text not null check (purpose in ('sign_in', 'link')),
  -- A link: the account that asked for it, signed in, after step-up.
  user_id uuid references users (id) on delete cascade,
  next text,
  created_at timestamptz not null,
  expires_at timestamptz not null,
  used_at timestamptz,
  check ((purpose = 'link') = (user_id is not null))
);
create index external_signin_flows_expiry on external_signin_flows (expires_at);

alter table external_identities enable row level security;
alter table external_identities force row level security;
create policy external_identities_system on external_identities
  using (rampart_system_context()) with check (rampart_system_context());
create policy external_identities_person on external_identities
  using (rampart_person_context(user_id)) with check (rampart_person_context(user_id));

do $$
declare
  t text;
begin
  foreach t in array array['upstream_providers', 'external_signin_flows'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format(
      'create policy %I on %I using (rampart_system_context()) with check (rampart_system_context())',
      t || '_system', t);
  end loop;
end
$$;

grant select, insert, update, delete on upstream_providers to rampart_runtime;
grant select, insert, update, delete on external_identities to rampart_runtime;
grant select, insert, update, delete on external_signin_flows to rampart_runtime;
