//! A stand-in for an SMS provider's HTTP API: a minimal HTTP/1.1 server on 127.0.0.1:0 that
//! records every request, so tests can count and read what the outbox delivered.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[derive(Clone, Debug)]
pub struct Seen {
    pub path: String,
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
}

pub type Log = Arc<Mutex<Vec<Seen>>>;

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A minimal HTTP/1.1 server on 127.0.0.1:0 that records each request and answers `answer`.
pub async fn mock_api(status: u16, answer: &'static str) -> (String, Log) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen: Log = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                let head_end = loop {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(i) = find(&buf, b"\r\n\r\n") {
                        break i + 4;
                    }
                };
                let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
                let mut lines = head.split("\r\n");
                let path = lines
                    .next()
                    .and_then(|l| l.split(' ').nth(1))
                    .unwrap_or_default()
                    .to_string();
                let headers: HashMap<String, String> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                let len: usize = headers
                    .get("content-length")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                while buf.len() < head_end + len {
                    let n = sock.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = buf[head_end..(head_end + len).min(buf.len())].to_vec();
                log.lock().unwrap().push(Seen {
                    path,
                    headers,
                    body,
                });
                let resp = format!(
                    "HTTP/1.1 {status} Mock\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    (format!("http://{addr}"), seen)
}

/// Waits until the mock has seen `n` requests (the outbox worker ticks every 2 s).
pub async fn wait_for(log: &Log, n: usize) -> Vec<Seen> {
    for _ in 0..150 {
        if log.lock().unwrap().len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let seen = log.lock().unwrap().clone();
    assert!(
        seen.len() >= n,
        "the provider API got {} requests, expected {n}",
        seen.len()
    );
    seen
}

/// What Tencent's SendSms answers when it accepted a message.
pub const TENCENT_ANSWER: &str = r#"{"Response":{"SendStatusSet":[{"SerialNo":"5000:1045710669157053657849499619","PhoneNumber":"+8613900139000","Fee":1,"SessionContext":"","Code":"Ok","Message":"send success","IsoCode":"CN"}],"RequestId":"a0aabda6-cf91-4f3e-a81f-9198114a2279"}}"#;

/// The token Tencent appends to its callback URL, as `tencent_env` configures it.
pub const TENCENT_CALLBACK_TOKEN: &str = "cb-secret-0123456789";

/// The environment for the Tencent provider, sending to the mock at `api`; the callback token
/// is written to a file in `secrets`, as an operator would keep it.
pub fn tencent_env(api: &str, secrets: &Path) -> Vec<(&'static str, String)> {
    let callback_file = secrets.join("callback-token");
    std::fs::write(&callback_file, format!("{TENCENT_CALLBACK_TOKEN}\n")).unwrap();
    vec![
        ("TIPLINE_SMS_PROVIDER", "tencent".into()),
        ("TIPLINE_SMS_ACCOUNT", "AKIDtest".into()),
        ("TIPLINE_SMS_TOKEN", "tencent-secret-key".into()),
        (
            "TIPLINE_SMS_CALLBACK_TOKEN_FILE",
            callback_file.display().to_string(),
        ),
        ("TIPLINE_SMS_APP_ID", "1400006666".into()),
        ("TIPLINE_SMS_SIGN", "县禁毒举报".into()),
        (
            "TIPLINE_SMS_TEMPLATES",
            "receipt=1001,appended=1002,status=1003,unknown_receipt=1004,message_notice=1005"
                .into(),
        ),
        ("TIPLINE_SMS_API_URL", api.into()),
    ]
}
