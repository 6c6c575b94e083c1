-- The operator console (/operator): Rampart accounts the operator has granted it with
-- `rampart operator grant <email>`. Their pages also need a session that presented a second factor.
create table operator_users (
  user_id uuid primary key references users (id) on delete cascade,
  granted_at timestamptz not null
);

-- What the operator says around the live checks and on security.txt: the product's name, its
-- security contact and its disclosure policy. One row; the statuses themselves are never set here.
create table deployment_settings (
  id smallint primary key default 1 check (id = 1),
  product_name text not null check (length(product_name) between 1 and 80),
  security_contact text check (length(security_contact) between 3 and 254),
  policy_url text check (length(policy_url) between 9 and 500),
  policy_text text check (length(policy_text) <= 4000),
  preferred_languages text not null check (preferred_languages ~ '^[a-z]{2,3}(-[A-Za-z0-9]{1,8})*(, ?[a-z]{2,3}(-[A-Za-z0-9]{1,8})*){0,9}$'),
  updated_at timestamptz not null
);

do $$
declare
  t text;
begin
  foreach t in array array['operator_users', 'deployment_settings'] loop
    execute format('alter table %I enable row level security', t);
    execute format('alter table %I force row level security', t);
    execute format(
      'create policy %I on %I using (rampart_system_context()) with check (rampart_system_context())',
      t || '_system', t);
    execute format('grant select, insert, update, delete on %I to rampart_runtime', t);
  end loop;
end
$$;
