//! `tipline backup DEST` while serving, and a restore that works only with the keys.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // a test: a failure is a panic

mod common;
use common::*;

#[tokio::test]
async fn backup_while_serving_then_restore_with_the_keys() {
    let s = Server::start().await;
    let (_, receipt) = s.public_tip("trafficking", "xidu", "备份测试").await;
    let dest = s.dir.path().join(if s.db_url.starts_with("postgres") {
        "backup.dump"
    } else {
        "backup.db"
    });
    let out = s.cli(&["backup", dest.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("holds no keys"));
    // Submissions go on while and after the copy is taken.
    s.public_tip("other", "xidu", "备份之后").await;
    let bytes = std::fs::read(&dest).unwrap();
    assert!(
        !contains(&bytes, "备份测试".as_bytes()),
        "the backup is as sealed as the database"
    );
    let ring = s.keyring();
    assert!(
        !contains(
            &bytes,
            hex::encode(ring.peppers.receipt.expose()).as_bytes()
        ),
        "no keys in the backup"
    );
    assert!(
        !s.cli(&["backup", dest.to_str().unwrap()]).status.success(),
        "never overwrites"
    );

    // Restore into a fresh place: without the keys it refuses, with them the receipt resolves.
    let restored = tempfile::tempdir().unwrap();
    let url = match pg_admin_url() {
        Some(_) => {
            let url = fresh_database(restored.path());
            let ok = std::process::Command::new("pg_restore")
                .args(["--no-owner", "--dbname", &url, dest.to_str().unwrap()])
                .status()
                .unwrap();
            assert!(ok.success());
            url
        }
        None => {
            std::fs::create_dir_all(restored.path().join("data")).unwrap();
            std::fs::copy(&dest, restored.path().join("data/tipline.db")).unwrap();
            format!("sqlite://{}/data/tipline.db", restored.path().display())
        }
    };
    let env = vec![
        ("TIPLINE_DATABASE_URL".to_string(), url.clone()),
        ("TIPLINE_CAPTCHA".into(), "off".into()),
    ];
    let keyless = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(keyless.path().join("data")).unwrap();
    let err = Server::spawn(keyless, url.clone(), env.clone())
        .await
        .err()
        .expect("no keys, no start");
    assert!(err.contains("holds none"), "{err}");

    let with_keys = tempfile::tempdir().unwrap();
    let keys = with_keys.path().join("keys");
    std::fs::create_dir_all(&keys).unwrap();
    for f in std::fs::read_dir(s.keys_dir()).unwrap().flatten() {
        std::fs::copy(f.path(), keys.join(f.file_name())).unwrap();
    }
    let r = Server::spawn(with_keys, url, env)
        .await
        .expect("restored copy starts with its keys");
    let st = r
        .post_json("/api/v1/status", &serde_json::json!({ "receipt": receipt }))
        .await;
    assert_eq!(st.status(), 200);
}

/// The backup file is 0600 from its first moment (created with that mode, not chmod-ed after),
/// whatever the umask, and a planted symlink at the destination is refused, not followed.
#[tokio::test]
async fn backup_is_created_private_and_never_through_a_symlink() {
    use std::os::unix::fs::PermissionsExt;
    let s = Server::start().await;
    s.public_tip("trafficking", "xidu", "权限测试").await;
    let under_umask_000 = |dest: &std::path::Path| {
        let cli = s.cli_command(&["backup", dest.to_str().unwrap()]);
        let mut cmd = std::process::Command::new("sh");
        cmd.args(["-c", "umask 000; exec \"$0\" \"$@\""])
            .arg(cli.get_program())
            .args(cli.get_args())
            .current_dir(s.dir.path())
            .env_clear();
        for (k, v) in cli.get_envs() {
            if let Some(v) = v {
                cmd.env(k, v);
            }
        }
        cmd.output().unwrap()
    };
    let dest = s.dir.path().join("private.backup");
    let out = under_umask_000(&dest);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mode = std::fs::metadata(&dest).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "mode {mode:o} under umask 000");

    // A dangling symlink where the backup goes (someone expecting it to be followed into a
    // place they can read): refused, and nothing is written at its target.
    let target = s.dir.path().join("attacker-readable");
    let link = s.dir.path().join("linked.backup");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let out = under_umask_000(&link);
    assert!(!out.status.success());
    assert!(!target.exists(), "the symlink was not followed");
}
