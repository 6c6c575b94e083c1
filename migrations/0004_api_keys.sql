-- Organization API keys (O6). A key reads `rmp_live_<key id>_<secret>`: the key id is public (shown
-- as the prefix, and it finds the key's organization); only the SHA-256 of the whole key is stored.

create table api_keys (
  id text primary key check (id ~ '^[a-z0-9]{16}$'),
  org_id uuid not null references organizations (id) on delete cascade,
  name text not null check (length(name) between 1 and 100),
  key_hash text not null,
  scopes text[] not null,
  created_by uuid not null references users (id),
  created_at timestamptz not null,
  expires_at timestamptz not null,
  last_used_at timestamptz,
  last_used_ip text,
  revoked_at timestamptz
);
create index api_keys_org on api_keys (org_id);

alter table api_keys enable row level security;
alter table api_keys force row level security;
create policy api_keys_tenant on api_keys
  using (org_id = rampart_current_org()) with check (org_id = rampart_current_org());
grant select, insert, update on api_keys to rampart_runtime;

-- Which organization a presented key id belongs to: the only thing readable before the tenant is
-- known. No secret, no name, nothing else.
create table api_key_directory (
  key_id text primary key,
  org_id uuid not null references organizations (id) on delete cascade
);
alter table api_key_directory enable row level security;
alter table api_key_directory force row level security;
-- Anyone may look a key id up (that is its purpose); only the organization itself may add its keys.
create policy api_key_directory_lookup on api_key_directory for select using (true);
create policy api_key_directory_insert on api_key_directory for insert with check (org_id = rampart_current_org());
grant select, insert on api_key_directory to rampart_runtime;
