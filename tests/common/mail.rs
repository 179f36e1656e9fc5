//! The test's side of the real mail servers (OpenSMTPD and Dovecot, started by
//! `tests/mail-servers.sh`; TEST_SMTP_URL and TEST_IMAP_URL name them): log in, search and
//! wait for a mail in the shared INBOX.

use futures_util::TryStreamExt;
use std::time::{Duration, Instant};

pub type Imap = async_imap::Session<tokio::net::TcpStream>;

pub async fn imap_login(imap_url: &str, user: &str) -> Imap {
    let hostport = imap_url.trim_start_matches("imap://").trim_end_matches('/');
    let tcp = tokio::net::TcpStream::connect(hostport).await.unwrap();
    let mut client = async_imap::Client::new(tcp);
    client.read_response().await.unwrap().unwrap();
    client.login(user, "secret").await.map_err(|e| e.0).unwrap()
}

/// Raw messages in `folder` of `user` matching an IMAP SEARCH, with their flags.
pub async fn fetch(
    imap_url: &str,
    user: &str,
    folder: &str,
    query: &str,
) -> Vec<(Vec<u8>, String)> {
    let mut s = imap_login(imap_url, user).await;
    if s.select(folder).await.is_err() {
        let _ = s.logout().await;
        return Vec::new();
    }
    let uids = s.uid_search(query).await.unwrap();
    let mut out = Vec::new();
    if !uids.is_empty() {
        let set: Vec<String> = uids.iter().map(u32::to_string).collect();
        let fetched: Vec<_> = s
            .uid_fetch(set.join(","), "(FLAGS BODY.PEEK[])")
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        for f in fetched {
            let flags = f
                .flags()
                .map(|x| format!("{x:?}"))
                .collect::<Vec<_>>()
                .join(" ");
            if let Some(b) = f.body() {
                out.push((b.to_vec(), flags));
            }
        }
    }
    let _ = s.logout().await;
    out
}

/// Waits for a mail to `to` (in admin's INBOX) whose subject and text satisfy `want`.
pub async fn wait_for_mail(
    imap_url: &str,
    to: &str,
    want: impl Fn(&str, &str) -> bool,
) -> (String, String, String) {
    let started = Instant::now();
    loop {
        for (raw, _) in fetch(
            imap_url,
            "admin@example.test",
            "INBOX",
            &format!("TO \"{to}\""),
        )
        .await
        {
            let m = mail_parser::MessageParser::default().parse(&raw).unwrap();
            let subject = m.subject().unwrap_or_default().to_string();
            let body = m.body_text(0).unwrap_or_default().to_string();
            if want(&subject, &body) {
                let id = m.message_id().unwrap_or_default().to_string();
                return (subject, body, id);
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no matching mail to {to} arrived"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
