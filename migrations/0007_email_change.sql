-- S2: changing the sign-in address. The new address is proved by a single-use link mailed to it;
-- until the link is used, the account keeps its old address.
alter table email_tokens drop constraint email_tokens_purpose_check;
alter table email_tokens add constraint email_tokens_purpose_check
  check (purpose in ('verify_email', 'magic_link', 'password_reset', 'email_change'));
alter table email_tokens add column new_email text
  check (new_email = lower(new_email) and length(new_email) between 3 and 254);
alter table email_tokens add constraint email_tokens_new_email_only_for_change
  check ((purpose = 'email_change') = (new_email is not null));
