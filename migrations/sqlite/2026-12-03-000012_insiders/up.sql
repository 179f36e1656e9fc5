-- Issue 14: no insider takes what is not theirs.

-- Who entered a tip by hand (hotline, report box) and so saw its receipt. Staff-entered tips
-- are not anonymous towards their clerk anyway. That person may not verify the tip, propose,
-- sign or pay its reward: the triggers below refuse it even if the code were bypassed.
ALTER TABLE tips ADD COLUMN entered_by TEXT;
-- The hour (unix seconds, a multiple of 3600) the receipt was last exchanged on the web; shown
-- to supervisors on the tip. An hour value on the tip row, never a tip_events row: a reporter's
-- action leaves no exact time and no order.
ALTER TABLE tips ADD COLUMN receipt_exchanged_hour BIGINT;

-- Reader accounts (officer, supervisor) made or widened by an admin wait for a county
-- supervisor's approval; until then the account is also disabled, so it cannot log in.
ALTER TABLE staff ADD COLUMN approval_pending BOOLEAN NOT NULL DEFAULT FALSE;
-- Audit names: `cli` or `staff:NAME`.
ALTER TABLE staff ADD COLUMN created_by TEXT;
ALTER TABLE staff ADD COLUMN approved_by TEXT;

CREATE TRIGGER staff_approver_is_not_creator BEFORE UPDATE OF approved_by ON staff
WHEN NEW.approved_by IS NOT NULL AND NEW.approved_by = NEW.created_by
BEGIN
    SELECT RAISE(ABORT, 'own_account: the approver of an account must not be its creator');
END;

CREATE TRIGGER tip_clerk_may_not_verify BEFORE INSERT ON tip_events
WHEN NEW.to_status = 'verified' AND EXISTS (
    SELECT 1 FROM tips JOIN staff ON staff.id = tips.entered_by
    WHERE tips.id = NEW.tip_id AND 'staff:' || staff.username = NEW.actor)
BEGIN
    SELECT RAISE(ABORT, 'own_tip: whoever entered a tip may not verify it');
END;

CREATE TRIGGER tip_clerk_may_not_propose BEFORE INSERT ON rewards
WHEN EXISTS (SELECT 1 FROM tips WHERE tips.id = NEW.tip_id AND tips.entered_by = NEW.proposed_by)
BEGIN
    SELECT RAISE(ABORT, 'own_tip: whoever entered a tip may not propose its reward');
END;

CREATE TRIGGER tip_clerk_may_not_sign BEFORE INSERT ON reward_signatures
WHEN EXISTS (
    SELECT 1 FROM rewards JOIN tips ON tips.id = rewards.tip_id
    WHERE rewards.id = NEW.reward_id AND tips.entered_by = NEW.signer_id)
BEGIN
    SELECT RAISE(ABORT, 'own_tip: whoever entered a tip may not sign its reward');
END;

CREATE TRIGGER tip_clerk_may_not_pay BEFORE INSERT ON payouts
WHEN EXISTS (
    SELECT 1 FROM rewards JOIN tips ON tips.id = rewards.tip_id
    WHERE rewards.id = NEW.reward_id AND tips.entered_by = NEW.recorded_by)
BEGIN
    SELECT RAISE(ABORT, 'own_tip: whoever entered a tip may not pay its reward');
END;
