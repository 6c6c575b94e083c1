-- Organizations (O1-O3). The organization row is the tenant root: its id is the org id that every
-- tenant table carries. Two read paths reach tenant rows:
--   withTenant(org)   rampart.org_id = org           everything of that one organization;
--   withPerson(user)  rampart.user_id = user         only that person's own memberships and the
--                                                    organizations they belong to (the org switcher).

create function rampart_current_user() returns uuid
  language sql stable
  as $$ select nullif(current_setting('rampart.user_id', true), '')::uuid $$;

create table organizations (
  id uuid primary key,
  name text not null check (length(name) between 1 and 100),
  created_at timestamptz not null,
  created_by uuid not null references users (id)
);

create table memberships (
  org_id uuid not null references organizations (id) on delete cascade,
  user_id uuid not null references users (id) on delete cascade,
  role text not null check (role in ('owner', 'admin', 'member', 'viewer')),
  invited_by uuid references users (id),
  created_at timestamptz not null,
  primary key (org_id, user_id)
);
create index memberships_user on memberships (user_id);

create table invitations (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references organizations (id) on delete cascade,
  email text not null check (email = lower(email)),
  role text not null check (role in ('owner', 'admin', 'member', 'viewer')),
  token_hash text not null unique,
  invited_by uuid not null references users (id),
  created_at timestamptz not null,
  expires_at timestamptz not null,
  accepted_at timestamptz,
  accepted_by uuid references users (id),
  revoked_at timestamptz
);
create index invitations_org on invitations (org_id);

alter table organizations enable row level security;
alter table organizations force row level security;
create policy organizations_tenant on organizations
  using (id = rampart_current_org()) with check (id = rampart_current_org());
create policy organizations_of_person on organizations for select
  using (id in (select org_id from memberships where user_id = rampart_current_user()));

alter table memberships enable row level security;
alter table memberships force row level security;
create policy memberships_tenant on memberships
  using (org_id = rampart_current_org()) with check (org_id = rampart_current_org());
create policy memberships_of_person on memberships for select
  using (user_id = rampart_current_user());

alter table invitations enable row level security;
alter table invitations force row level security;
create policy invitations_tenant on invitations
  using (org_id = rampart_current_org()) with check (org_id = rampart_current_org());

grant select, insert, update, delete on organizations, memberships to rampart_runtime;
grant select, insert, update on invitations to rampart_runtime;

-- The organization a session is working in (switcher). Checked against memberships on every request.
alter table sessions add column active_org_id uuid;
