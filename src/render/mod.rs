//! Speaking: one file per output format, all from the same [`Report`](crate::report::Report).
//! Colour and width are parameters, never globals.

pub mod json;
pub mod table;

#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    /// Terminal width for the chain table; `None` leaves lines unwrapped.
    pub width: Option<u16>,
    /// Also list passing checks.
    pub verbose: bool,
}

/// The part of `a` and of `b` that differs, as byte ranges (common prefix and suffix removed).
pub fn diff_ranges(a: &str, b: &str) -> ((usize, usize), (usize, usize)) {
    let pre = a
        .char_indices()
        .zip(b.chars())
        .take_while(|((_, x), y)| x == y)
        .last()
        .map(|((i, c), _)| i + c.len_utf8())
        .unwrap_or(0);
    let (ar, br) = (&a[pre..], &b[pre..]);
    let suf = ar
        .chars()
        .rev()
        .zip(br.chars().rev())
        .take_while(|(x, y)| x == y)
        .map(|(x, _)| x.len_utf8())
        .sum::<usize>();
    ((pre, a.len() - suf), (pre, b.len() - suf))
}

#[cfg(test)]
mod tests {
    use super::diff_ranges;

    #[test]
    fn ranges() {
        let a = "system:serviceaccount:inventroy:api";
        let b = "system:serviceaccount:inventory:api";
        let ((s, e), (s2, e2)) = diff_ranges(a, b);
        assert_eq!(&a[s..e], "ro");
        assert_eq!(&b[s2..e2], "or");
        let ((s, e), (s2, e2)) = diff_ranges("https://x/", "https://x");
        assert_eq!((s, e, s2, e2), (9, 10, 9, 9));
    }
}
