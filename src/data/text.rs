//! Byte-level helpers shared by the text readers (edge lists, labels, keyed features):
//! line iteration that skips blank and comment lines, the separator rule and field
//! splitting, and allocation-free number parsing.
//!
//! The separator rule, the same for every text input: a line containing a comma is split
//! at commas, else a line containing a tab at tabs (fields trimmed of ASCII whitespace in
//! both cases, so they may be empty), else at runs of ASCII whitespace.

use memchr::{memchr, memchr2};

/// How a line splits into fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sep {
    Comma,
    Tab,
    Whitespace,
}

impl Sep {
    /// The separator of `line` (see the module docs).
    pub(crate) fn of(line: &[u8]) -> Sep {
        match memchr2(b',', b'\t', line) {
            None => Sep::Whitespace,
            Some(k) if line[k] == b',' => Sep::Comma,
            Some(k) => {
                if memchr(b',', &line[k..]).is_some() {
                    Sep::Comma
                } else {
                    Sep::Tab
                }
            }
        }
    }
}

/// ASCII whitespace as `str::trim` sees it in ASCII text (space, \t, \n, \r, \x0b, \x0c).
#[inline]
pub(crate) fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// `bytes` without leading and trailing ASCII whitespace.
#[inline]
pub(crate) fn trim(bytes: &[u8]) -> &[u8] {
    let mut start = 0;
    let mut end = bytes.len();
    while start < end && is_space(bytes[start]) {
        start += 1;
    }
    while end > start && is_space(bytes[end - 1]) {
        end -= 1;
    }
    &bytes[start..end]
}

/// The fields of one line, in order (see the module docs for the rule).
pub(crate) struct Fields<'a> {
    rest: Option<&'a [u8]>,
    sep: Sep,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(line: &'a [u8]) -> Fields<'a> {
        Fields {
            rest: Some(line),
            sep: Sep::of(line),
        }
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        let rest = self.rest?;
        match self.sep {
            Sep::Comma | Sep::Tab => {
                let sep = if self.sep == Sep::Comma { b',' } else { b'\t' };
                match memchr(sep, rest) {
                    Some(k) => {
                        self.rest = Some(&rest[k + 1..]);
                        Some(trim(&rest[..k]))
                    }
                    None => {
                        self.rest = None;
                        Some(trim(rest))
                    }
                }
            }
            Sep::Whitespace => {
                let start = rest.iter().position(|&b| !is_space(b));
                let Some(start) = start else {
                    self.rest = None;
                    return None;
                };
                let rest = &rest[start..];
                let end = rest.iter().position(|&b| is_space(b)).unwrap_or(rest.len());
                self.rest = Some(&rest[end..]);
                Some(&rest[..end])
            }
        }
    }
}

/// The data lines of a text: `(1-based line number, trimmed content)`, skipping blank
/// lines and lines whose content starts with `#` or `%`. A UTF-8 byte-order mark at the
/// start of a line is dropped.
pub(crate) struct Lines<'a> {
    text: &'a [u8],
    pos: usize,
    line: usize,
}

impl<'a> Lines<'a> {
    /// Lines of `text`, numbered from `first_line`.
    pub(crate) fn new(text: &'a [u8], first_line: usize) -> Lines<'a> {
        Lines {
            text,
            pos: 0,
            line: first_line,
        }
    }

    /// Number of the line the next call starts on.
    pub(crate) fn next_line_number(&self) -> usize {
        self.line
    }

    /// Byte offset (in the text) where the next call starts.
    pub(crate) fn offset(&self) -> usize {
        self.pos
    }
}

impl<'a> Iterator for Lines<'a> {
    type Item = (usize, &'a [u8]);

    #[inline]
    fn next(&mut self) -> Option<(usize, &'a [u8])> {
        while self.pos < self.text.len() {
            let rest = &self.text[self.pos..];
            let end = memchr(b'\n', rest).unwrap_or(rest.len());
            let number = self.line;
            self.pos += (end + 1).min(rest.len());
            self.line += 1;
            let content = trim(strip_bom(&rest[..end]));
            if content.is_empty() || content[0] == b'#' || content[0] == b'%' {
                continue;
            }
            return Some((number, content));
        }
        None
    }
}

/// `line` without a leading UTF-8 byte-order mark.
#[inline]
pub(crate) fn strip_bom(line: &[u8]) -> &[u8] {
    line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(line)
}

/// Parses a decimal integer as `str::parse::<i64>` does: an optional `+` or `-`, then at
/// least one ASCII digit, nothing else; `None` on overflow.
#[inline]
pub(crate) fn parse_i64(field: &[u8]) -> Option<i64> {
    let (negative, digits) = match field.first()? {
        b'-' => (true, &field[1..]),
        b'+' => (false, &field[1..]),
        _ => (false, field),
    };
    if digits.is_empty() {
        return None;
    }
    if digits.len() <= 18 {
        // Cannot overflow: at most 10^18 - 1.
        let mut value: i64 = 0;
        for &b in digits {
            let d = b.wrapping_sub(b'0');
            if d > 9 {
                return None;
            }
            value = value * 10 + i64::from(d);
        }
        return Some(if negative { -value } else { value });
    }
    let mut value: i64 = 0;
    for &b in digits {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        value = value.checked_mul(10)?;
        value = if negative {
            value.checked_sub(i64::from(d))?
        } else {
            value.checked_add(i64::from(d))?
        };
    }
    Some(value)
}

/// Parses a number as `str::parse::<f64>` does (so `nan`, `inf` and exponents are read
/// and left to the caller to judge); `None` if it is not one.
#[inline]
pub(crate) fn parse_f64(field: &[u8]) -> Option<f64> {
    std::str::from_utf8(field).ok()?.parse::<f64>().ok()
}

/// FxHash (fast, word at a time) with a splitmix64 finish, so that the low bits hash
/// tables index by depend on every input bit. Plain FxHash does not mix high input bits
/// down: the 65536 keys `n0` … `n65535` get only 2281 distinct low-16-bit values, and ids
/// `k << 20` a single one, so a table of such keys degenerates into long probe chains.
#[derive(Default)]
pub(crate) struct MixHasher(rustc_hash::FxHasher);

impl std::hash::Hasher for MixHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        self.0.write(bytes);
    }

    #[inline]
    fn write_u32(&mut self, n: u32) {
        self.0.write_u32(n);
    }

    #[inline]
    fn write_u64(&mut self, n: u64) {
        self.0.write_u64(n);
    }

    #[inline]
    fn write_usize(&mut self, n: usize) {
        self.0.write_usize(n);
    }

    #[inline]
    fn finish(&self) -> u64 {
        let mut z = self.0.finish();
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A hash map with [`MixHasher`].
pub(crate) type FastMap<K, V> =
    std::collections::HashMap<K, V, std::hash::BuildHasherDefault<MixHasher>>;

/// A hash set with [`MixHasher`].
pub(crate) type FastSet<K> = std::collections::HashSet<K, std::hash::BuildHasherDefault<MixHasher>>;

/// A field for an error message: lossy UTF-8, at most 60 characters.
pub(crate) fn show(field: &[u8]) -> String {
    let text = String::from_utf8_lossy(field);
    match text.char_indices().nth(60) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(line: &str) -> Vec<String> {
        Fields::new(line.as_bytes())
            .map(|f| String::from_utf8(f.to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn separator_rule() {
        assert_eq!(fields("a b  c"), ["a", "b", "c"].map(String::from));
        assert_eq!(fields("a b\t c"), ["a b", "c"].map(String::from));
        assert_eq!(fields(" a ,b, ,c"), ["a", "b", "", "c"].map(String::from));
        assert_eq!(fields("a\tb c\t"), ["a", "b c", ""].map(String::from));
        assert_eq!(fields("a\tb,c"), ["a\tb", "c"].map(String::from));
        assert_eq!(fields("  x  "), ["x"].map(String::from));
        assert!(fields("").is_empty());
    }

    #[test]
    fn lines_skip_blanks_comments_and_bom() {
        let text = b"\xef\xbb\xbf# c\n\n  1 2\r\n% x\n3 4";
        let lines: Vec<(usize, &[u8])> = Lines::new(text, 1).collect();
        assert_eq!(lines, vec![(3, &b"1 2"[..]), (5, &b"3 4"[..])]);
    }

    /// The low 16 bits of the hash spread like random ones (about 63% of 65536 buckets
    /// hit by 65536 keys) for keys that differ only in high bits.
    #[test]
    fn mixed_hash_spreads_low_bits() {
        use std::hash::{BuildHasher, BuildHasherDefault};
        let build = BuildHasherDefault::<MixHasher>::default();
        let spread = |hashes: Vec<u64>| -> usize {
            let mut buckets: Vec<u64> = hashes.iter().map(|h| h & 0xffff).collect();
            buckets.sort_unstable();
            buckets.dedup();
            buckets.len()
        };
        let names: Vec<u64> = (0..65536)
            .map(|i| build.hash_one(format!("n{i}").as_bytes()))
            .collect();
        let shifted: Vec<u64> = (0..65536u64).map(|i| build.hash_one(i << 20)).collect();
        for (what, hashes) in [("names", names), ("shifted ids", shifted)] {
            let hit = spread(hashes);
            assert!(hit > 38_000, "{what}: {hit} buckets");
        }
    }

    #[test]
    fn integers_parse_like_std() {
        for s in [
            "0",
            "-0",
            "+7",
            "0042",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "-9223372036854775809",
            "",
            "-",
            "+",
            "1.0",
            " 1",
            "1e3",
            "١",
            "123456789012345678",
            "1234567890123456789",
        ] {
            assert_eq!(parse_i64(s.as_bytes()), s.parse::<i64>().ok(), "{s:?}");
        }
    }
}
