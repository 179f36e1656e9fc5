DROP TABLE tip_journal;
DROP INDEX tips_contact_alias;
CREATE INDEX tips_contact_alias ON tips (contact_alias);
