-- Access reviews (O4): each sign-off of an organization's member list, with its reviewer and time.
create table access_reviews (
  id uuid primary key default gen_random_uuid(),
  org_id uuid not null references organizations (id) on delete cascade,
  reviewer_id uuid not null references users (id),
  signed_off_at timestamptz not null,
  members_reviewed integer not null,
  note text check (length(note) <= 2000)
);
create index access_reviews_org on access_reviews (org_id, signed_off_at desc);

alter table access_reviews enable row level security;
alter table access_reviews force row level security;
create policy access_reviews_tenant on access_reviews
  using (org_id = rampart_current_org()) with check (org_id = rampart_current_org());
grant select, insert on access_reviews to rampart_runtime;
