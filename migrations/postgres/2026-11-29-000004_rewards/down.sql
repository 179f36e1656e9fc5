DROP TABLE payouts;
DROP TABLE reward_signatures;
DROP TABLE rewards;
DROP TABLE policy_documents;
ALTER TABLE tips DROP COLUMN receipt_private;
