//! Sealing costs, each beside its baseline measured in the same run:
//! - one HPKE auth-mode seal per tip (the naive design) vs. the epoch design actually used;
//! - opening a sealed tip (staff path) vs. a plain AES-256-GCM open of the same bytes;
//! - hashing a receipt (every status check).
//!
//! Run: `cargo bench --bench sealing`; compare each pair in its group.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::time::Duration;
use tipline::crypto::Secret32;
use tipline::crypto::receipt::Receipt;
use tipline::crypto::seal::{
    NodeIdentity, Opener, Recipient, Sealer, aead_open, aead_seal, kem_keypair_from_seed,
};

fn setup() -> (Sealer, Sealer, Recipient, Opener) {
    let (nsk, npk) = kem_keypair_from_seed(&[1; 32]);
    let (osk, opk) = kem_keypair_from_seed(&[2; 32]);
    let node = NodeIdentity {
        key_id: "node".into(),
        private: nsk,
        public: npk.clone(),
    };
    let epoch = Sealer::new(node.clone(), Duration::from_secs(60), 10_000);
    // An epoch of one object: every seal pays a full HPKE seal, as a per-tip design would.
    let naive = Sealer::new(node, Duration::from_secs(60), 1);
    let to = Recipient {
        key_id: "office".into(),
        public: opk,
    };
    (
        epoch,
        naive,
        to,
        Opener::new("office".into(), osk, vec![npk]),
    )
}

fn payload() -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "v": 1, "channel": "web", "submitted_at": 1_795_906_800,
        "description": "有人在西渡镇某茶楼二楼包间贩卖冰毒，经常晚上九点以后交易。".repeat(6),
        "location": "西渡镇某村三组", "people": "绰号“老三”，三十多岁，开一辆白色面包车",
    }))
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let (epoch, naive, to, opener) = setup();
    let data = payload();
    let mut g = c.benchmark_group("seal_tip");
    g.bench_function("hpke_per_tip_baseline", |b| {
        b.iter(|| naive.seal(&to, "tip", "t", black_box(&data)).unwrap())
    });
    g.bench_function("epoch_key", |b| {
        b.iter(|| epoch.seal(&to, "tip", "t", black_box(&data)).unwrap())
    });
    g.finish();

    let sealed = epoch.seal(&to, "tip", "t", &data).unwrap();
    let key = Secret32::random().unwrap();
    let plain_ct = aead_seal(&key, b"aad", &data).unwrap();
    let mut g = c.benchmark_group("open_tip");
    g.bench_function("aes_gcm_only_baseline", |b| {
        b.iter(|| aead_open(&key, b"aad", black_box(&plain_ct)).unwrap())
    });
    g.bench_function("hpke_epoch_then_dek", |b| {
        b.iter(|| {
            opener
                .open(
                    &sealed.epoch_row,
                    &sealed.dek_row,
                    black_box(&sealed.ciphertext),
                )
                .unwrap()
        })
    });
    g.finish();

    let pepper = Secret32::random().unwrap();
    let receipt = Receipt::generate().unwrap();
    let typed = receipt.display();
    c.bench_function("receipt_parse_and_hash", |b| {
        b.iter(|| Receipt::parse(black_box(&typed)).unwrap().hash(&pepper))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
