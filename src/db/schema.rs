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
    spent_tokens (fingerprint) {
        fingerprint -> Binary,
        expires_at -> BigInt,
    }
}

diesel::joinable!(tips -> units (unit_code));
diesel::joinable!(unit_townships -> units (unit_code));
diesel::joinable!(attachments -> tips (tip_id));
diesel::joinable!(attachment_chunks -> attachments (attachment_id));

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
);
