//! Small counts in what leaves the system. A count from 1 to 4 could point at a person in a
//! small township, so exports and the office mail show it as "<5". One hidden cell in a column
//! could be worked out from the total, so a second one is hidden too (the smallest other
//! non-zero cell), or the total when there is none. An amount is hidden with its count.

use super::figures::Counts;

pub const THRESHOLD: i64 = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Figure {
    Count(i64),
    Fen(i64),
    Hidden,
}

pub const COLUMNS: usize = 8;
/// Which count column each column's visibility follows (amounts follow their count).
const FOLLOWS: [usize; COLUMNS] = [0, 1, 2, 3, 4, 4, 6, 6];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub label: String,
    pub values: [Figure; COLUMNS],
}

fn raw(c: &Counts) -> [i64; COLUMNS] {
    [
        c.received,
        c.verified,
        c.unfounded,
        c.duplicate,
        c.rewards_approved,
        c.approved_fen,
        c.rewards_paid,
        c.paid_fen,
    ]
}

fn small(n: i64) -> bool {
    (1..THRESHOLD).contains(&n)
}

/// The lines as they may leave the system, and their total line.
pub fn protect(rows: &[(String, Counts)], total: (&str, &Counts)) -> (Vec<Line>, Line) {
    let values: Vec<[i64; COLUMNS]> = rows.iter().map(|(_, c)| raw(c)).collect();
    let sum = raw(total.1);
    let mut hidden: Vec<[bool; COLUMNS]> = values
        .iter()
        .map(|v| std::array::from_fn(|i| small(v[FOLLOWS[i]])))
        .collect();
    let mut total_hidden: [bool; COLUMNS] = std::array::from_fn(|i| small(sum[FOLLOWS[i]]));
    for col in [0, 1, 2, 3, 4, 6] {
        let count = hidden.iter().filter(|h| h[col]).count();
        if count != 1 || total_hidden[col] {
            continue;
        }
        let second = values
            .iter()
            .enumerate()
            .filter(|(r, v)| !hidden[*r][col] && v[col] > 0)
            .min_by_key(|(_, v)| v[col])
            .map(|(r, _)| r);
        match second {
            Some(r) => hidden[r][col] = true,
            None => total_hidden[col] = true,
        }
    }
    for h in hidden.iter_mut() {
        *h = std::array::from_fn(|i| h[FOLLOWS[i]]);
    }
    total_hidden = std::array::from_fn(|i| total_hidden[FOLLOWS[i]]);
    let line = |label: &str, v: &[i64; COLUMNS], h: &[bool; COLUMNS]| Line {
        label: label.to_string(),
        values: std::array::from_fn(|i| match (h[i], i) {
            (true, _) => Figure::Hidden,
            (false, 5 | 7) => Figure::Fen(v[i]),
            (false, _) => Figure::Count(v[i]),
        }),
    };
    let lines = rows
        .iter()
        .zip(values.iter().zip(hidden.iter()))
        .map(|((label, _), (v, h))| line(label, v, h))
        .collect();
    (lines, line(total.0, &sum, &total_hidden))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(received: i64, approved: i64, fen: i64) -> Counts {
        Counts {
            received,
            rewards_approved: approved,
            approved_fen: fen,
            ..Counts::default()
        }
    }

    fn total(rows: &[(String, Counts)]) -> Counts {
        let mut t = Counts::default();
        rows.iter().for_each(|(_, c)| t.add(c));
        t
    }

    #[test]
    fn small_counts_are_hidden_and_cannot_be_worked_out_from_the_total() {
        let rows = vec![
            ("a".to_string(), counts(3, 0, 0)),
            ("b".to_string(), counts(9, 6, 600_000)),
            ("c".to_string(), counts(20, 2, 50_000)),
            ("d".to_string(), counts(0, 0, 0)),
        ];
        let t = total(&rows);
        let (lines, sum) = protect(&rows, ("合计", &t));
        assert_eq!(lines[0].values[0], Figure::Hidden, "3 is below 5");
        assert_eq!(
            lines[1].values[0],
            Figure::Hidden,
            "the next smallest is hidden so 3 cannot be derived"
        );
        assert_eq!(lines[2].values[0], Figure::Count(20));
        assert_eq!(lines[3].values[0], Figure::Count(0), "zero is shown");
        assert_eq!(sum.values[0], Figure::Count(32));
        // Rewards: c has 2 (hidden), b has 6 (hidden second); amounts follow their counts.
        assert_eq!(lines[2].values[4], Figure::Hidden);
        assert_eq!(lines[2].values[5], Figure::Hidden);
        assert_eq!(lines[1].values[5], Figure::Hidden);
        assert_eq!(sum.values[4], Figure::Count(8));
        assert_eq!(sum.values[5], Figure::Fen(650_000));
    }

    #[test]
    fn a_lone_small_count_hides_the_total_when_nothing_else_can_be_hidden() {
        let rows = vec![
            ("a".to_string(), counts(0, 0, 0)),
            ("b".to_string(), counts(2, 0, 0)),
        ];
        let t = total(&rows);
        let (lines, sum) = protect(&rows, ("合计", &t));
        assert_eq!(lines[1].values[0], Figure::Hidden);
        assert_eq!(sum.values[0], Figure::Hidden);
        // Every column: no shown figure is between 1 and 4.
        for l in lines.iter().chain([&sum]) {
            for v in l.values {
                if let Figure::Count(n) = v {
                    assert!(!small(n));
                }
            }
        }
    }
}
