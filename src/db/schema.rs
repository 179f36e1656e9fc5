// One schema for both backends; the migrations under migrations/{sqlite,postgres} agree with it.

diesel::table! {
    keyring (purpose) {
        purpose -> Text,
        fingerprint -> Text,
    }
}

diesel::table! {
    units (code) {
        code -> Text,
        name_zh -> Text,
        name_en -> Text,
        county_wide -> Bool,
    }
}

diesel::table! {
    unit_townships (township) {
        township -> Text,
        unit_code -> Text,
    }
}

diesel::table! {
    tips (id) {
        id -> Text,
        public_ref -> Text,
        channel -> Text,
        category -> Text,
        township -> Text,
        unit_code -> Text,
        status -> Text,
        priority -> Integer,
        county_only -> Bool,
        created_hour -> BigInt,
        updated_at -> BigInt,
        receipt_hash -> Binary,
        reply_pubkey -> Binary,
        payload -> Binary,
        contact -> Nullable<Binary>,
        attachment_count -> Integer,
        receipt_private -> Bool,
        contact_alias -> Nullable<Binary>,
        contact_purge_at -> Nullable<BigInt>,
        unread_messages -> Integer,
        staff_notified -> Bool,
        assigned_to -> Nullable<Text>,
        tags -> Text,
        index_version -> Integer,
        duplicate_of -> Nullable<Text>,
        reporter_wrote -> Bool,
        entered_by -> Nullable<Text>,
        receipt_exchanged_hour -> Nullable<BigInt>,
        route_mac -> Nullable<Binary>,
    }
}

diesel::table! {
    tip_journal (slot) {
        slot -> BigInt,
        receipt_hash -> Binary,
        id -> Text,
        public_ref -> Text,
        channel -> Text,
        category -> Text,
        township -> Text,
        unit_code -> Text,
        county_only -> Bool,
        created_hour -> BigInt,
        reply_pubkey -> Binary,
        payload -> Binary,
        receipt_private -> Bool,
        route_mac -> Binary,
        dek_recipient -> Text,
        dek_encapped -> Binary,
        dek_sealed -> Binary,
    }
}

diesel::table! {
    mail_ack_quota (key_hash) {
        key_hash -> Binary,
        day -> BigInt,
        sent -> Integer,
    }
}

diesel::table! {
    staff (id) {
        id -> Text,
        username -> Text,
        role -> Text,
        unit_code -> Nullable<Text>,
        password_hash -> Text,
        totp_sealed -> Nullable<Binary>,
        totp_enabled -> Bool,
        totp_last_step -> BigInt,
        disabled -> Bool,
        failed_logins -> Integer,
        locked_until -> BigInt,
        created_at -> BigInt,
        contact -> Nullable<Binary>,
        notify -> Text,
        must_change_password -> Bool,
        password_expires_at -> Nullable<BigInt>,
        approval_pending -> Bool,
        created_by -> Nullable<Text>,
        approved_by -> Nullable<Text>,
        township -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id_hash) {
        id_hash -> Binary,
        staff_id -> Text,
        stage -> Text,
        created_at -> BigInt,
        last_seen -> BigInt,
        totp_failures -> Integer,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Text,
        staff_id -> Text,
        token_hash -> Binary,
        created_at -> BigInt,
        expires_at -> BigInt,
        revoked -> Bool,
        scopes -> Text,
    }
}

diesel::table! {
    login_locks (lock_key) {
        lock_key -> Binary,
        failures -> Integer,
        locked_until -> BigInt,
        updated_at -> BigInt,
    }
}

diesel::table! {
    audit_log (seq) {
        seq -> BigInt,
        at -> BigInt,
        actor -> Text,
        action -> Text,
        object -> Text,
        outcome -> Text,
        prev_hash -> Binary,
        hash -> Binary,
        signature -> Binary,
    }
}

diesel::table! {
    audit_pending (id) {
        id -> Text,
        hour -> BigInt,
        actor -> Text,
        action -> Text,
        object -> Text,
        outcome -> Text,
        signature -> Binary,
    }
}

diesel::table! {
    audit_head (id) {
        id -> Integer,
        seq -> BigInt,
        hash -> Binary,
    }
}

diesel::table! {
    tip_events (id) {
        id -> Text,
        tip_id -> Text,
        at -> BigInt,
        actor -> Text,
        from_status -> Text,
        to_status -> Text,
    }
}

diesel::table! {
    tip_notes (id) {
        id -> Text,
        tip_id -> Text,
        author -> Text,
        at -> BigInt,
        body -> Binary,
    }
}

diesel::table! {
    sealed_keys (object_kind, object_id, recipient_key_id) {
        object_kind -> Text,
        object_id -> Text,
        recipient_key_id -> Text,
        encapped -> Binary,
        sealed_key -> Binary,
    }
}

diesel::table! {
    attachments (id) {
        id -> Text,
        tip_id -> Text,
        nonce_prefix -> Binary,
        chunk_count -> Integer,
    }
}

diesel::table! {
    attachment_chunks (attachment_id, seq) {
        attachment_id -> Text,
        seq -> Integer,
        data -> Binary,
    }
}

diesel::table! {
    idempotency (key_hash) {
        key_hash -> Binary,
        request_hash -> Binary,
        sealed_receipt -> Binary,
        expires_at -> BigInt,
    }
}

diesel::table! {
    held_files (id) {
        id -> Text,
        form_key -> Binary,
        file_key -> Binary,
        position -> Integer,
        meta -> Binary,
        nonce_prefix -> Binary,
        chunks -> Binary,
        expires_at -> BigInt,
    }
}

diesel::table! {
    spent_tokens (fingerprint) {
        fingerprint -> Binary,
        expires_at -> BigInt,
    }
}

diesel::table! {
    messages (id) {
        id -> Text,
        tip_id -> Text,
        seq -> Integer,
        direction -> Text,
        author -> Nullable<Text>,
        at_hour -> BigInt,
        body -> Binary,
    }
}

diesel::table! {
    outbox (id) {
        id -> Text,
        kind -> Text,
        payload -> Binary,
        attempts -> Integer,
        next_at -> BigInt,
        claimed_by -> Nullable<Text>,
        claimed_until -> BigInt,
        last_error -> Nullable<Text>,
        created_at -> BigInt,
    }
}

diesel::table! {
    policy_documents (name, version) {
        name -> Text,
        version -> BigInt,
        body -> Text,
        created_at -> BigInt,
        created_by -> Text,
    }
}

diesel::table! {
    rewards (id) {
        id -> Text,
        public_ref -> Text,
        tip_id -> Text,
        unit_code -> Text,
        policy_version -> BigInt,
        amount_fen -> BigInt,
        tiers -> Text,
        details -> Binary,
        status -> Text,
        steps -> Text,
        signed_steps -> Integer,
        proposed_by -> Text,
        proposed_at -> BigInt,
        cracked_on -> Text,
        notify_by -> Text,
        notified_on -> Nullable<Text>,
        claim_by -> Nullable<Text>,
        claim_hash -> Nullable<Binary>,
        claim_sealed -> Nullable<Binary>,
        reject_reason -> Nullable<Text>,
        closed_at -> Nullable<BigInt>,
    }
}

diesel::table! {
    reward_signatures (reward_id, step) {
        reward_id -> Text,
        step -> Integer,
        step_name -> Text,
        signer_id -> Text,
        at -> BigInt,
    }
}

diesel::table! {
    payouts (id) {
        id -> Text,
        reward_id -> Text,
        unit_code -> Text,
        amount_fen -> BigInt,
        method -> Text,
        state -> Text,
        recorded_by -> Text,
        paid_on -> Text,
        account -> Nullable<Binary>,
        identity_check -> Nullable<Binary>,
    }
}

diesel::table! {
    blind_index (kind, tag, tip_id) {
        kind -> Text,
        tag -> Binary,
        tip_id -> Text,
    }
}

diesel::table! {
    cases (id) {
        id -> Text,
        public_ref -> Text,
        unit_code -> Text,
        created_by -> Text,
        created_at -> BigInt,
    }
}

diesel::table! {
    case_tips (tip_id) {
        tip_id -> Text,
        case_id -> Text,
        added_by -> Text,
        added_at -> BigInt,
    }
}

diesel::table! {
    report_runs (period) {
        period -> Text,
        created_at -> BigInt,
        head_seq -> BigInt,
        head_hash -> Binary,
    }
}

diesel::table! {
    report_tombstones (day, measure, township, category, channel, unit_code) {
        day -> Text,
        measure -> Text,
        township -> Text,
        category -> Text,
        channel -> Text,
        unit_code -> Text,
        n -> BigInt,
    }
}

diesel::table! {
    ferry_nodes (node_id) {
        node_id -> Text,
        zone -> Text,
        kem_public -> Binary,
        sign_public -> Binary,
    }
}

diesel::table! {
    ferry_streams (direction, node_id) {
        direction -> Text,
        node_id -> Text,
        seq -> BigInt,
        hash -> Binary,
    }
}

diesel::table! {
    ferry_sent (kind, object_id) {
        kind -> Text,
        object_id -> Text,
        version -> Text,
        seq -> BigInt,
    }
}

diesel::joinable!(tips -> units (unit_code));
diesel::joinable!(blind_index -> tips (tip_id));
diesel::joinable!(case_tips -> cases (case_id));
diesel::joinable!(case_tips -> tips (tip_id));
diesel::joinable!(unit_townships -> units (unit_code));
diesel::joinable!(attachments -> tips (tip_id));
diesel::joinable!(sessions -> staff (staff_id));
diesel::joinable!(api_tokens -> staff (staff_id));
diesel::table! {
    township_returns (id) {
        id -> Text,
        township -> Text,
        period -> Text,
        version -> Integer,
        sent_hour -> BigInt,
        filed_by -> Text,
        status -> Text,
        body -> Binary,
        people -> Binary,
        comment -> Nullable<Binary>,
        reviewed_by -> Nullable<Text>,
    }
}

diesel::table! {
    return_files (id) {
        id -> Text,
        return_id -> Text,
        body -> Binary,
    }
}

diesel::table! {
    return_reminders (period, kind) {
        period -> Text,
        kind -> Text,
        created_at -> BigInt,
    }
}

diesel::joinable!(return_files -> township_returns (return_id));
diesel::joinable!(tip_events -> tips (tip_id));
diesel::joinable!(tip_notes -> tips (tip_id));
diesel::joinable!(attachment_chunks -> attachments (attachment_id));
diesel::joinable!(rewards -> tips (tip_id));
diesel::joinable!(messages -> tips (tip_id));
diesel::joinable!(reward_signatures -> rewards (reward_id));
diesel::joinable!(payouts -> rewards (reward_id));

diesel::allow_tables_to_appear_in_same_query!(
    keyring,
    units,
    unit_townships,
    tips,
    sealed_keys,
    attachments,
    attachment_chunks,
    idempotency,
    spent_tokens,
    held_files,
    staff,
    sessions,
    api_tokens,
    login_locks,
    audit_log,
    audit_head,
    audit_pending,
    tip_events,
    tip_notes,
    policy_documents,
    messages,
    outbox,
    rewards,
    reward_signatures,
    payouts,
    blind_index,
    cases,
    case_tips,
    report_runs,
    report_tombstones,
    mail_ack_quota,
    ferry_nodes,
    ferry_streams,
    ferry_sent,
    township_returns,
    return_files,
    return_reminders,
);
