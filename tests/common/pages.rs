//! Staff sessions for page tests: users from the CLI, the login form, TOTP enrolment from the
//! QR page, and reading hidden form fields.

use super::Server;

pub fn hidden(html: &str, name: &str) -> String {
    let key = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&key)
        .unwrap_or_else(|| panic!("no {name} in {html}"))
        + key.len();
    html[start..start + html[start..].find('"').unwrap()].to_string()
}

pub fn cookie_of(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("tipline_staff="))
        .map(|v| v.split(';').next().unwrap().to_string())
}

pub fn add_user(s: &Server, name: &str, role: &str, unit: Option<&str>) {
    let pw = s.dir.path().join(format!("{name}.pw"));
    std::fs::write(&pw, "correct horse battery staple").unwrap();
    let mut args = vec![
        "user",
        "add",
        "--username",
        name,
        "--role",
        role,
        "--password-file",
        pw.to_str().unwrap(),
        "--keep-password",
    ];
    if let Some(u) = unit {
        args.extend(["--unit", u]);
    }
    assert!(s.cli(&args).status.success());
}

/// The login form's pre-session cookie (`tipline_login=...`), which its CSRF token is bound to.
pub fn login_cookie_of(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("tipline_login="))
        .map(|v| v.split(';').next().unwrap().to_string())
}

/// The login form: (pre-session cookie, CSRF token).
pub async fn login_form(s: &Server) -> (String, String) {
    let r = s.client.get(s.url("/staff/login")).send().await.unwrap();
    let cookie = login_cookie_of(&r).expect("the login form sets its pre-session cookie");
    (cookie, hidden(&r.text().await.unwrap(), "csrf"))
}

pub async fn password_step(s: &Server, name: &str, password: &str) -> reqwest::Response {
    let (cookie, csrf) = login_form(s).await;
    s.client
        .post(s.url("/staff/login"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", name),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

pub fn code_for(uri: &str, at: u64) -> String {
    let totp = totp_rs::Totp::from_url(uri.replace("&amp;", "&")).unwrap();
    totp.generate(at).to_string()
}

/// Logs in with password and TOTP (enrolling at first login); returns (cookie, otpauth uri).
pub async fn login(s: &Server, name: &str, uri: Option<&str>, at: u64) -> (String, String) {
    let r = password_step(s, name, "correct horse battery staple").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/staff/totp");
    let cookie = cookie_of(&r).expect("session cookie");
    let set = r.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/staff"),
        "{set}"
    );
    let page = s
        .client
        .get(s.url("/staff/totp"))
        .header("cookie", &cookie)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    if uri.is_none() {
        // Reloading the enrolment page shows the same secret: what was scanned stays valid.
        let again = s
            .client
            .get(s.url("/staff/totp"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let pick = |p: &str| {
            p[p.find("otpauth://").unwrap()..]
                .split('<')
                .next()
                .unwrap()
                .to_string()
        };
        assert_eq!(pick(&page), pick(&again));
    }
    let uri = match uri {
        Some(u) => u.to_string(),
        None => {
            assert!(page.contains("<svg"), "enrolment shows a QR code");
            let start = page.find("otpauth://").unwrap();
            page[start..start + page[start..].find('<').unwrap()].to_string()
        }
    };
    let r = s
        .client
        .post(s.url("/staff/totp"))
        .header("cookie", &cookie)
        .form(&[
            ("csrf", hidden(&page, "csrf")),
            ("code", code_for(&uri, at)),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    (cookie, uri)
}

impl Server {
    /// A signed-in GET: (status, body).
    pub async fn page(&self, cookie: &str, path: &str) -> (u16, String) {
        let r = self
            .client
            .get(self.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }

    /// A signed-in form POST.
    pub async fn submit(
        &self,
        cookie: &str,
        path: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("cookie", cookie)
            .form(form)
            .send()
            .await
            .unwrap()
    }
}
