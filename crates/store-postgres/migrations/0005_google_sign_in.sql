-- The Google account (OpenID Connect `sub`) linked to a therapist account.
ALTER TABLE accounts ADD COLUMN google_subject TEXT;
CREATE UNIQUE INDEX accounts_by_google_subject ON accounts (google_subject);
