-- Whether only the reporter has seen the receipt. False for hotline, box, SMS and email tips
-- (a clerk, a carrier or a mailbox saw it) until the reporter rekeys on the web; claim codes
-- are shown only to a private receipt.
ALTER TABLE tips ADD COLUMN receipt_private BOOLEAN NOT NULL DEFAULT TRUE;
UPDATE tips SET receipt_private = (channel IN ('web', 'api'));

-- Versioned policy documents (the reward schedule and ladder, the working-day calendar).
-- The newest version of a name is in force; rewards record the version they were made under.
CREATE TABLE policy_documents (
    name TEXT NOT NULL,
    version BIGINT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE rewards (
    id TEXT PRIMARY KEY NOT NULL,
    public_ref TEXT NOT NULL UNIQUE,
    tip_id TEXT NOT NULL REFERENCES tips(id),
    unit_code TEXT NOT NULL REFERENCES units(code),
    policy_version BIGINT NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    -- tier codes the amount came from, for finance and the ledger; the facts are sealed
    tiers TEXT NOT NULL,
    -- facts, justification and eligibility, sealed to the office key
    details BYTEA NOT NULL,
    -- approving | claimable | paid | rejected | expired
    status TEXT NOT NULL,
    -- the ladder steps this amount needs, in signing order, comma separated
    steps TEXT NOT NULL,
    signed_steps INTEGER NOT NULL DEFAULT 0,
    proposed_by TEXT NOT NULL REFERENCES staff(id),
    proposed_at BIGINT NOT NULL,
    -- dates are Asia/Shanghai calendar days, YYYY-MM-DD
    cracked_on TEXT NOT NULL,
    notify_by TEXT NOT NULL,
    notified_on TEXT,
    claim_by TEXT,
    -- the claim code as a keyed hash, and sealed to the reporter's reply key; both deleted at
    -- payout or expiry
    claim_hash BYTEA UNIQUE,
    claim_sealed BYTEA,
    reject_reason TEXT,
    closed_at BIGINT
);
CREATE INDEX rewards_tip ON rewards (tip_id);
CREATE INDEX rewards_status ON rewards (status, unit_code);

-- One row per ladder step; the database refuses a second signature on a step and a second
-- signature by the same person on one reward.
CREATE TABLE reward_signatures (
    reward_id TEXT NOT NULL REFERENCES rewards(id),
    step INTEGER NOT NULL,
    step_name TEXT NOT NULL,
    signer_id TEXT NOT NULL REFERENCES staff(id),
    at BIGINT NOT NULL,
    PRIMARY KEY (reward_id, step),
    UNIQUE (reward_id, signer_id)
);

-- At most one payout per reward, enforced here. Only the date is kept, not the time.
CREATE TABLE payouts (
    id TEXT PRIMARY KEY NOT NULL,
    reward_id TEXT NOT NULL UNIQUE REFERENCES rewards(id),
    unit_code TEXT NOT NULL,
    amount_fen BIGINT NOT NULL CHECK (amount_fen > 0),
    -- cash | transfer
    method TEXT NOT NULL,
    -- pending (transfer ordered) | paid
    state TEXT NOT NULL,
    recorded_by TEXT NOT NULL REFERENCES staff(id),
    paid_on TEXT NOT NULL,
    -- bank account for a transfer, sealed; deleted once the transfer is confirmed
    account BYTEA,
    -- what identity check was done, where the policy requires one; sealed
    identity_check BYTEA
);
CREATE INDEX payouts_paid_on ON payouts (paid_on, unit_code);
