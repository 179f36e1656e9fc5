//! Blind indexes for linking related tips (DESIGN.md section 2): what a tip names (phone
//! numbers, vehicle plates, ID numbers, venues, people) is normalized, and each normalized
//! value is stored only as a short keyed hash, a *tag*, under a subkey per kind. A tag is a
//! candidate, never a proof: tips that share a tag are confirmed by decrypting both and
//! comparing what they name. See docs/design-decisions.md, "Linking related tips", for the
//! truncation and what the index reveals.

use super::{Secret32, keyed_hash, subkey};
use unicode_normalization::UnicodeNormalization;

/// Bump when any rule below changes the normalized form or what is extracted: every tip with a
/// lower `tips.index_version` is indexed again by the background indexer.
pub const NORMALIZATION_VERSION: i32 = 1;

/// Bytes of HMAC-SHA256 kept per tag: 16 bits, 65,536 buckets per kind. With the subkey, one
/// bucket still holds about 100,000 of the 7·10⁹ possible mobile numbers, so even a thief who
/// has the database *and* the pepper learns no number from a tag; the price is that at
/// county volume a few unrelated tips share a bucket and are decrypted to be ruled out.
pub const TAG_BYTES: usize = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Phone,
    Plate,
    IdNumber,
    Venue,
    Person,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Phone,
        Kind::Plate,
        Kind::IdNumber,
        Kind::Venue,
        Kind::Person,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Kind::Phone => "phone",
            Kind::Plate => "plate",
            Kind::IdNumber => "id_number",
            Kind::Venue => "venue",
            Kind::Person => "person",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.code() == s)
    }
}

/// The per-kind subkeys, derived from the keyring's blind-index pepper. Only police-zone nodes
/// build one (they hold the office key that confirms candidates).
pub struct BlindKeys {
    keys: [Secret32; 5],
}

impl BlindKeys {
    pub fn new(pepper: &Secret32) -> Self {
        Self {
            keys: Kind::ALL.map(|k| subkey(pepper, &format!("blind-index:{}", k.code()))),
        }
    }

    /// The truncated keyed hash of a normalized value.
    pub fn tag(&self, kind: Kind, normalized: &str) -> Vec<u8> {
        let key = &self.keys[kind as usize];
        keyed_hash(key, &[normalized.as_bytes()])[..TAG_BYTES].to_vec()
    }
}

impl std::fmt::Debug for BlindKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlindKeys(..)")
    }
}

/// One thing a tip names: its kind, its normalized form (what is hashed and compared) and how
/// the tip wrote it (shown to an officer who is reading that tip anyway).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub kind: Kind,
    pub normalized: String,
    pub written: String,
}

/// The parts of a tip payload that are searched.
#[derive(Debug, Default, Clone, Copy)]
pub struct TipText<'a> {
    pub description: &'a str,
    pub location: Option<&'a str>,
    pub people: Option<&'a str>,
    pub vehicles: Option<&'a str>,
}

impl<'a> TipText<'a> {
    /// Reads the fields of a decrypted payload (JSON object).
    pub fn from_payload(v: &'a serde_json::Value) -> Self {
        let s = |k: &str| v.get(k).and_then(serde_json::Value::as_str);
        TipText {
            description: s("description").unwrap_or(""),
            location: s("location"),
            people: s("people"),
            vehicles: s("vehicles"),
        }
    }
}

/// Everything a tip names, each normalized value once (first spelling kept).
pub fn extract(t: &TipText) -> Vec<Found> {
    let mut out: Vec<Found> = Vec::new();
    let mut push = |kind: Kind, normalized: String, written: &str| {
        if !out
            .iter()
            .any(|f| f.kind == kind && f.normalized == normalized)
        {
            out.push(Found {
                kind,
                normalized,
                written: written.trim().to_string(),
            });
        }
    };
    let free: Vec<&str> = [Some(t.description), t.location, t.people, t.vehicles]
        .into_iter()
        .flatten()
        .collect();
    for text in &free {
        for (kind, norm, written) in numbers(text) {
            push(kind, norm, &written);
        }
        for (norm, written) in plates(text) {
            push(Kind::Plate, norm, &written);
        }
    }
    if let Some(loc) = t.location
        && let Some(n) = normalize_venue(loc)
    {
        push(Kind::Venue, n, loc);
    }
    for text in [Some(t.description), t.location].into_iter().flatten() {
        for (norm, written) in venues(text) {
            push(Kind::Venue, norm, &written);
        }
    }
    if let Some(people) = t.people {
        for part in split_people(people) {
            if let Some(n) = normalize_person(part) {
                push(Kind::Person, n, part);
            }
        }
    }
    out
}

fn nfkc(s: &str) -> String {
    s.nfkc().collect()
}

// ---- phone numbers and ID numbers -------------------------------------------------------------

/// Characters that may sit between the digit groups of one written number.
fn is_number_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '-' | '.' | '(' | ')' | '\u{2010}'..='\u{2015}' | '\u{2212}'
    )
}

/// Digit groups as written: ("138 0013 8000" -> ["138","0013","8000"]), with their byte span
/// in the normalized text, and whether a `+` came first.
struct Run {
    plus: bool,
    groups: Vec<(String, usize, usize)>,
}

fn digit_runs(text: &str) -> Vec<Run> {
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut runs = Vec::new();
    let mut cur = Run {
        plus: false,
        groups: Vec::new(),
    };
    let mut group = String::new();
    let mut start = 0usize;
    let mut i = 0;
    while i < chars.len() {
        let (at, c) = chars[i];
        let prev = i.checked_sub(1).map(|p| chars[p].1);
        let next = chars.get(i + 1).map(|n| n.1);
        // An ID number's check character X ends its last group.
        let check_x = matches!(c, 'X' | 'x')
            && !group.is_empty()
            && !next.is_some_and(|n| n.is_ascii_alphanumeric());
        if c.is_ascii_digit() || check_x {
            if group.is_empty() && prev.is_some_and(|p| p.is_ascii_alphabetic()) {
                // Digits glued to letters ("D12345" of a plate, a model number) are no phone
                // or ID number: skip the whole token.
                while i < chars.len() && chars[i].1.is_ascii_alphanumeric() {
                    i += 1;
                }
                flush(&mut runs, &mut cur);
                continue;
            }
            if group.is_empty() {
                start = at;
            }
            group.push(c.to_ascii_uppercase());
        } else {
            if !group.is_empty() {
                cur.groups.push((std::mem::take(&mut group), start, at));
            }
            if c == '+' && cur.groups.is_empty() {
                cur.plus = true;
            } else if !is_number_separator(c) {
                flush(&mut runs, &mut cur);
            }
        }
        i += 1;
    }
    if !group.is_empty() {
        cur.groups.push((group, start, text.len()));
    }
    flush(&mut runs, &mut cur);
    runs
}

fn flush(runs: &mut Vec<Run>, cur: &mut Run) {
    let done = std::mem::replace(
        cur,
        Run {
            plus: false,
            groups: Vec::new(),
        },
    );
    if !done.groups.is_empty() {
        runs.push(done);
    }
}

/// Phone numbers and ID numbers in a text: (kind, normalized, as written).
fn numbers(raw: &str) -> Vec<(Kind, String, String)> {
    let text = nfkc(raw);
    let mut out = Vec::new();
    for run in digit_runs(&text) {
        let g = &run.groups;
        let mut i = 0;
        while i < g.len() {
            // The longest span of groups starting at i that reads as one number.
            let mut best: Option<(usize, Kind, String)> = None;
            let mut digits = String::new();
            for (j, (d, _, _)) in g.iter().enumerate().skip(i) {
                digits.push_str(d);
                if digits.len() > 18 {
                    break;
                }
                let plus = run.plus && i == 0;
                if let Some(n) = normalize_id_number(&digits) {
                    best = Some((j, Kind::IdNumber, n));
                } else if let Some(n) = normalize_phone_digits(&digits, plus) {
                    best = Some((j, Kind::Phone, n));
                }
            }
            match best {
                Some((j, kind, n)) => {
                    let from = if run.plus && i == 0 {
                        text[..g[i].1].rfind('+').unwrap_or(g[i].1)
                    } else {
                        g[i].1
                    };
                    out.push((kind, n, text[from..g[j].2].to_string()));
                    i = j + 1;
                }
                None => i += 1,
            }
        }
    }
    out
}

/// A Chinese phone number in digits only: mobiles as 11 digits (`13800138000`), landlines
/// with their trunk 0 and area code (`07348212345`). Country code 86 (`+86`, `0086`, `86`
/// before a mobile) is dropped. `None` for anything else.
pub fn normalize_phone(raw: &str) -> Option<String> {
    let text = nfkc(raw);
    let t = text.trim();
    let plus = t.starts_with('+');
    if !t
        .chars()
        .all(|c| c.is_ascii_digit() || c == '+' || is_number_separator(c))
    {
        return None;
    }
    let digits: String = t.chars().filter(char::is_ascii_digit).collect();
    normalize_phone_digits(&digits, plus)
}

fn is_mobile(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 11 && b[0] == b'1' && (b'3'..=b'9').contains(&b[1])
}

fn is_landline(d: &str) -> bool {
    let b = d.as_bytes();
    if b.len() < 10 || b[0] != b'0' || b[1] == b'0' {
        return false;
    }
    // Two-digit area codes (10, 20-29: Beijing, Guangzhou, Shanghai...) are 0 + 2 digits;
    // the rest 0 + 3 digits. Local numbers are 7 or 8 digits and do not start with 0 or 1.
    let area = if b[1] == b'1' || b[1] == b'2' { 3 } else { 4 };
    let local = &b[area.min(b.len())..];
    (7..=8).contains(&local.len()) && local[0] >= b'2'
}

fn normalize_phone_digits(d: &str, plus: bool) -> Option<String> {
    if !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let national = if let Some(rest) = d.strip_prefix("0086") {
        Some(rest)
    } else if let Some(rest) = d.strip_prefix("86")
        && (plus || is_mobile(rest))
    {
        Some(rest)
    } else if plus {
        return None;
    } else {
        None
    };
    match national {
        Some(n) if is_mobile(n) => Some(n.to_string()),
        Some(n) => {
            let with_trunk = format!("0{n}");
            is_landline(&with_trunk).then_some(with_trunk)
        }
        None if is_mobile(d) || is_landline(d) => Some(d.to_string()),
        None => None,
    }
}

/// An 18-character resident ID number (GB 11643) with a valid ISO 7064 MOD 11-2 check
/// character and a plausible birth date; `X` upper-cased.
pub fn normalize_id_number(raw: &str) -> Option<String> {
    let t: String = nfkc(raw)
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let b = t.as_bytes();
    if b.len() != 18 || !b[..17].iter().all(u8::is_ascii_digit) {
        return None;
    }
    const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let sum: u32 = b[..17]
        .iter()
        .zip(W)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    if b[17] != CHECK[(sum % 11) as usize] {
        return None;
    }
    // Region codes start 1-8; the birth date is YYYYMMDD in 1900-2099.
    let num = |r: std::ops::Range<usize>| t[r].parse::<u32>().ok();
    let (year, month, day) = (num(6..10)?, num(10..12)?, num(12..14)?);
    let ok = (b'1'..=b'8').contains(&b[0])
        && (1900..=2099).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day);
    ok.then_some(t)
}

// ---- plates ---------------------------------------------------------------------------------

const PROVINCES: &str = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

fn is_plate_separator(c: char) -> bool {
    matches!(
        c,
        ' ' | '·' | '•' | '・' | '‧' | '.' | '-' | '\u{2010}'..='\u{2015}'
    )
}

/// Mainland plates: province character, issuing-office letter, then 5 characters (6 for
/// new-energy plates) of letters and digits; separators (`湘D·12345`, `湘 D 12345`) dropped,
/// letters upper-cased, full-width forms folded.
pub fn normalize_plate(raw: &str) -> Option<String> {
    let found = plates(raw);
    match found.as_slice() {
        [(n, _)] if nfkc(raw).trim().chars().count() <= n.chars().count() + 4 => Some(n.clone()),
        _ => None,
    }
}

fn plates(raw: &str) -> Vec<(String, String)> {
    let text = nfkc(raw);
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let (start, c) = chars[i];
        if !PROVINCES.contains(c) {
            i += 1;
            continue;
        }
        let mut norm = String::from(c);
        let mut j = i + 1;
        let mut body = 0;
        let mut end = start + c.len_utf8();
        while j < chars.len() {
            let (at, ch) = chars[j];
            if ch.is_ascii_alphanumeric() {
                if body == 0 && !ch.is_ascii_alphabetic() {
                    break;
                }
                norm.push(ch.to_ascii_uppercase());
                body += 1;
                end = at + ch.len_utf8();
            } else if !(is_plate_separator(ch) && body <= 1) || body > 7 {
                break;
            }
            j += 1;
        }
        // Letter + 5 or 6; anything longer is not a plate (a run of digits after a place name).
        if (6..=7).contains(&body) {
            out.push((norm, text[start..end].to_string()));
            i = j;
        } else {
            i += 1;
        }
    }
    out
}

// ---- venues ---------------------------------------------------------------------------------

/// Words that end the name of a place people meet, buy or use drugs.
const VENUE_WORDS: [&str; 13] = [
    "KTV",
    "酒吧",
    "宾馆",
    "酒店",
    "旅馆",
    "旅社",
    "网吧",
    "会所",
    "足浴",
    "茶楼",
    "棋牌室",
    "歌厅",
    "夜总会",
];

/// Characters that end a venue name's prefix when read backwards: function words and the
/// like, so "他常去金色年华KTV" gives "金色年华KTV".
const STOPS: &str =
    "的在了是去到和与及有个家那这一里从说叫把被给对向往找住开我你他她它们也都就还又常每";

fn is_han(c: char) -> bool {
    matches!(c, '\u{4e00}'..='\u{9fff}' | '\u{3400}'..='\u{4dbf}')
}

/// A place as written in the tip's location field, or a venue name: NFKC, no spaces or
/// punctuation, Latin letters upper-cased.
pub fn normalize_venue(raw: &str) -> Option<String> {
    let kept: String = nfkc(raw)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    // Dropping characters can leave a combining mark next to a new base: normalize again.
    let n = nfkc(&kept);
    (n.chars().count() >= 2 && n.chars().count() <= 60).then_some(n)
}

/// Venue names in free text: a short Han prefix (2-8 characters, stopping at function
/// characters and punctuation, Latin letters and digits allowed) and a venue word.
fn venues(raw: &str) -> Vec<(String, String)> {
    let text = nfkc(raw);
    let upper: String = text.chars().map(|c| c.to_ascii_uppercase()).collect();
    let mut out = Vec::new();
    for word in VENUE_WORDS {
        for (at, _) in upper.match_indices(word) {
            let before: Vec<char> = text[..at].chars().collect();
            let mut n = 0;
            while n < before.len() && n < 8 {
                let c = before[before.len() - 1 - n];
                let ok = (is_han(c) && !STOPS.contains(c)) || c.is_ascii_alphanumeric();
                if !ok {
                    break;
                }
                n += 1;
            }
            if n < 2 {
                continue;
            }
            let prefix: String = before[before.len() - n..].iter().collect();
            let written = format!("{prefix}{}", &text[at..at + word.len()]);
            if let Some(norm) = normalize_venue(&written) {
                out.push((norm, written));
            }
        }
    }
    out
}

// ---- people ---------------------------------------------------------------------------------

fn split_people(raw: &str) -> impl Iterator<Item = &str> {
    raw.split(|c: char| {
        matches!(
            c,
            ',' | '，' | '、' | ';' | '；' | '/' | '|' | '\n' | '。' | '\r' | '\t' | '﹑'
        )
    })
    .map(str::trim)
    .filter(|s| !s.is_empty())
}

/// Labels people put before a name or nickname ("绰号“老三”", "外号：老三").
const PERSON_LABELS: [&str; 6] = ["绰号", "外号", "小名", "姓名", "名字", "别名"];

/// A name or nickname: NFKC, quotes, brackets, spaces and labels dropped, Latin letters
/// lower-cased. 2 to 20 characters.
pub fn normalize_person(raw: &str) -> Option<String> {
    let kept: String = nfkc(raw)
        .chars()
        .filter(|c| c.is_alphanumeric() || *c == '·')
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let mut n = nfkc(&kept);
    for label in PERSON_LABELS {
        if let Some(rest) = n.strip_prefix(label) {
            n = rest.strip_prefix('叫').unwrap_or(rest).to_string();
            break;
        }
    }
    let len = n.chars().count();
    (2..=20).contains(&len).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(description: &str) -> Vec<(Kind, String)> {
        extract(&TipText {
            description,
            ..Default::default()
        })
        .into_iter()
        .map(|f| (f.kind, f.normalized))
        .collect()
    }

    #[test]
    fn phones_written_many_ways_normalize_alike() {
        for written in [
            "13800138000",
            "138 0013 8000",
            "138-0013-8000",
            "+86-13800138000",
            "+86 138 0013 8000",
            "0086 13800138000",
            "8613800138000",
            "１３８００１３８０００",
            "(+86) 138.0013.8000",
        ] {
            assert_eq!(
                normalize_phone(written).as_deref(),
                Some("13800138000"),
                "{written}"
            );
        }
        assert_eq!(
            normalize_phone("0734-8212345").as_deref(),
            Some("07348212345")
        );
        assert_eq!(
            normalize_phone("+86 734 8212345").as_deref(),
            Some("07348212345")
        );
        assert_eq!(
            normalize_phone("010-62345678").as_deref(),
            Some("01062345678")
        );
        for not in [
            "12345",
            "12800138000",
            "138001380001",
            "+1 415 555 0100",
            "abc",
        ] {
            assert_eq!(normalize_phone(not), None, "{not}");
        }
    }

    #[test]
    fn phones_are_found_in_text() {
        assert_eq!(
            found("他的电话是138 0013 8000，另一个 +86-139-0013-9000。"),
            vec![
                (Kind::Phone, "13800138000".into()),
                (Kind::Phone, "13900139000".into())
            ]
        );
        assert_eq!(
            found("两个号码13800138000 13900139000"),
            vec![
                (Kind::Phone, "13800138000".into()),
                (Kind::Phone, "13900139000".into())
            ]
        );
        assert!(found("毒品重1.5克，价格800元").is_empty());
    }

    #[test]
    fn id_numbers_need_their_check_character() {
        // 11010519491231002X is the standard's worked example.
        assert_eq!(
            normalize_id_number("11010519491231002x").as_deref(),
            Some("11010519491231002X")
        );
        assert_eq!(normalize_id_number("110105194912310021"), None);
        assert_eq!(
            found("身份证号 110105 19491231 002X"),
            vec![(Kind::IdNumber, "11010519491231002X".into())]
        );
        assert!(found("卡号 6222021234567890123").is_empty());
    }

    #[test]
    fn plates() {
        for written in [
            "湘D12345",
            "湘D·12345",
            "湘 d 12345",
            "湘Ｄ１２３４５",
            "湘D-12345",
        ] {
            assert_eq!(
                normalize_plate(written).as_deref(),
                Some("湘D12345"),
                "{written}"
            );
        }
        assert_eq!(normalize_plate("粤B·D12345").as_deref(), Some("粤BD12345"));
        assert_eq!(
            found("一辆白色面包车，车牌湘D·12345，常停在村口"),
            vec![(Kind::Plate, "湘D12345".into())]
        );
        assert_eq!(normalize_plate("湘D1234"), None);
        assert_eq!(normalize_plate("湘1234567"), None);
    }

    #[test]
    fn venues_and_people() {
        assert_eq!(
            found("他们常去金色年华KTV和红玫瑰足浴"),
            vec![
                (Kind::Venue, "金色年华KTV".into()),
                (Kind::Venue, "红玫瑰足浴".into())
            ]
        );
        assert_eq!(found("在一家ktv里"), vec![]);
        let t = TipText {
            description: "",
            people: Some("绰号“老三”、张 伟; Li Ming"),
            ..Default::default()
        };
        let names: Vec<String> = extract(&t).into_iter().map(|f| f.normalized).collect();
        assert_eq!(names, vec!["老三", "张伟", "liming"]);
        assert_eq!(normalize_person("外号：老三").as_deref(), Some("老三"));
        assert_eq!(
            normalize_venue(" 西渡镇 某村三组。").as_deref(),
            Some("西渡镇某村三组")
        );
    }

    #[test]
    fn tags_are_short_and_differ_by_kind() {
        let keys = BlindKeys::new(&Secret32::from_bytes([7; 32]));
        let a = keys.tag(Kind::Phone, "13800138000");
        assert_eq!(a.len(), TAG_BYTES);
        assert_eq!(a, keys.tag(Kind::Phone, "13800138000"));
        let other = BlindKeys::new(&Secret32::from_bytes([8; 32]));
        let b = keys.tag(Kind::Person, "13800138000");
        let c = other.tag(Kind::Phone, "13800138000");
        assert!(a != b || a != c, "subkeys per kind and per pepper");
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// Writes digits the way people do: grouped with a separator, maybe full-width.
        fn written(digits: &str, groups: &[usize], sep: &str, wide: bool) -> String {
            let mut out = String::new();
            let mut rest = digits;
            for g in groups {
                if rest.is_empty() {
                    break;
                }
                let (head, tail) = rest.split_at((*g).min(rest.len()));
                if !out.is_empty() {
                    out.push_str(sep);
                }
                out.push_str(head);
                rest = tail;
            }
            if !rest.is_empty() {
                if !out.is_empty() {
                    out.push_str(sep);
                }
                out.push_str(rest);
            }
            if wide {
                out.chars()
                    .map(|c| match c {
                        '0'..='9' => char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap_or(c),
                        other => other,
                    })
                    .collect()
            } else {
                out
            }
        }

        fn id_number(body: &str) -> String {
            const W: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
            let sum: u32 = body
                .bytes()
                .zip(W)
                .map(|(d, w)| u32::from(d - b'0') * w)
                .sum();
            format!("{body}{}", b"10X98765432"[(sum % 11) as usize] as char)
        }

        proptest! {
            #[test]
            fn mobiles_however_written_normalize_to_their_digits(
                second in 3u8..=9, rest in "[0-9]{9}",
                groups in prop::collection::vec(1usize..5, 0..5),
                sep in prop::sample::select(vec![" ", "-", ".", "  ", "－", "\u{3000}"]),
                prefix in prop::sample::select(vec!["", "+86 ", "+86-", "0086 ", "86", "(+86) "]),
                wide: bool,
            ) {
                let digits = format!("1{second}{rest}");
                let w = format!("{prefix}{}", written(&digits, &groups, sep, wide));
                prop_assert_eq!(normalize_phone(&w), Some(digits.clone()));
                let found: Vec<(Kind, String)> = extract(&TipText {
                    description: &format!("他的电话是{w}，晚上打"),
                    ..Default::default()
                })
                .into_iter()
                .map(|f| (f.kind, f.normalized))
                .collect();
                prop_assert_eq!(found, vec![(Kind::Phone, digits)]);
            }

            #[test]
            fn id_numbers_round_trip_and_catch_single_digit_errors(
                region in 1u32..=8, rest in "[0-9]{5}", year in 1900u32..2099, month in 1u32..=12,
                day in 1u32..=28, seq in "[0-9]{3}", pos in 0usize..17, delta in 1u8..=9,
                groups in prop::collection::vec(1usize..9, 0..4),
            ) {
                let id = id_number(&format!("{region}{rest}{year:04}{month:02}{day:02}{seq}"));
                let w = written(&id.to_lowercase(), &groups, " ", false);
                prop_assert_eq!(normalize_id_number(&w), Some(id.clone()));
                let mut typo = id.clone().into_bytes();
                typo[pos] = b'0' + (typo[pos] - b'0' + delta) % 10;
                let typo = String::from_utf8(typo).unwrap_or_default();
                prop_assert_ne!(normalize_id_number(&typo), Some(typo.clone()));
            }

            #[test]
            fn plates_however_written_normalize_alike(
                province in prop::sample::select(PROVINCES.chars().collect::<Vec<_>>()),
                letter in "[A-Z]", body in "[A-Z0-9]{5,6}",
                sep in prop::sample::select(vec!["", "·", " ", "-", "•"]), lower: bool, wide: bool,
            ) {
                let plate = format!("{province}{letter}{body}");
                let mut w = format!("{province}{letter}{sep}{body}");
                if lower { w = w.to_lowercase(); }
                if wide {
                    w = w.chars().map(|c| if c.is_ascii_alphanumeric() {
                        char::from_u32(c as u32 - 0x21 + 0xFF01).unwrap_or(c)
                    } else { c }).collect();
                }
                prop_assert_eq!(normalize_plate(&w), Some(plate));
            }

            #[test]
            fn normalizers_are_idempotent_and_extraction_never_panics(text in "\\PC{0,80}") {
                for n in [normalize_person, normalize_venue] {
                    if let Some(once) = n(&text) {
                        prop_assert_eq!(n(&once), Some(once.clone()));
                    }
                }
                for f in extract(&TipText { description: &text, location: Some(&text), people: Some(&text), vehicles: Some(&text) }) {
                    prop_assert!(!f.normalized.is_empty());
                }
            }
        }
    }
}
