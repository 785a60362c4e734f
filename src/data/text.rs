//! The text tokenizer shared by every text reader (edge lists, keyed feature tables,
//! labels, pairs): line iteration that skips blank and comment lines and byte-order marks,
//! the separator rule, field splitting with RFC 4180 quotes, the check that a file is
//! text at all, and allocation-free number parsing.
//!
//! The separator rule, the same for every text input: a line containing a comma (outside
//! quotes) is split at commas, else a line containing a tab at tabs (fields trimmed of
//! ASCII whitespace in both cases, so they may be empty), else at runs of ASCII
//! whitespace.
//!
//! Quotes, as pandas (`QUOTE_ALL`, `QUOTE_NONNUMERIC`) and R (`write.csv`,
//! `write.table`) write them: a field that starts with `"` (after any whitespace) runs to
//! the next `"` that is not doubled, `""` inside it stands for one `"`, and separators
//! inside it are text. Only whitespace may follow the closing quote before the next
//! separator. A quoted field must end on its line (a line break inside quotes is an
//! error, not a continuation).

use std::borrow::Cow;
use std::path::Path;

use memchr::{memchr, memchr2};

use crate::error::{Error, Result};

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
        if memchr(b'"', line).is_some() {
            return Sep::of_quoted(line);
        }
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

    /// [`Sep::of`] for a line with quotes: commas and tabs inside a quoted field (one
    /// whose `"` comes at the line's start or after a comma, tab or whitespace) do not
    /// count.
    fn of_quoted(line: &[u8]) -> Sep {
        let (mut comma, mut tab) = (false, false);
        let mut field_start = true;
        let mut k = 0;
        while k < line.len() {
            match line[k] {
                b'"' if field_start => {
                    // Skip to the closing quote (a doubled one is text).
                    k += 1;
                    while k < line.len() {
                        if line[k] == b'"' {
                            if line.get(k + 1) == Some(&b'"') {
                                k += 1;
                            } else {
                                break;
                            }
                        }
                        k += 1;
                    }
                    field_start = false;
                }
                b',' => {
                    comma = true;
                    field_start = true;
                }
                b'\t' => {
                    tab = true;
                    field_start = true;
                }
                b if is_space(b) => field_start = true,
                _ => field_start = false,
            }
            k += 1;
        }
        if comma {
            Sep::Comma
        } else if tab {
            Sep::Tab
        } else {
            Sep::Whitespace
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

/// One field of a line: borrowed from the text, or owned when it held doubled quotes.
pub(crate) type Field<'a> = Cow<'a, [u8]>;

/// The fields of one line, in order (see the module docs for the rule): each an unquoted
/// [`Field`], or a message saying why the quoting is malformed (after which the
/// iteration ends).
pub(crate) struct Fields<'a> {
    rest: Option<&'a [u8]>,
    sep: Sep,
    /// 1-based number of the next field, for messages.
    number: usize,
}

impl<'a> Fields<'a> {
    pub(crate) fn new(line: &'a [u8]) -> Fields<'a> {
        Fields {
            rest: Some(line),
            sep: Sep::of(line),
            number: 1,
        }
    }

    /// The quoted field at the start of `text` (which begins with `"`), and the text
    /// after its closing quote.
    fn quoted(&self, text: &'a [u8]) -> std::result::Result<(Field<'a>, &'a [u8]), String> {
        let body = &text[1..];
        let mut owned: Option<Vec<u8>> = None;
        let mut k = 0;
        loop {
            let Some(q) = memchr(b'"', &body[k..]).map(|q| k + q) else {
                return Err(format!(
                    "field {}: the quoted field does not end on its line",
                    self.number
                ));
            };
            if body.get(q + 1) == Some(&b'"') {
                owned
                    .get_or_insert_with(Vec::new)
                    .extend_from_slice(&body[k..=q]);
                k = q + 2;
                continue;
            }
            let field = match owned {
                Some(mut text) => {
                    text.extend_from_slice(&body[k..q]);
                    Cow::Owned(text)
                }
                None => Cow::Borrowed(&body[..q]),
            };
            return Ok((field, &body[q + 1..]));
        }
    }

    fn fail(&mut self, message: String) -> Option<std::result::Result<Field<'a>, String>> {
        self.rest = None;
        Some(Err(message))
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = std::result::Result<Field<'a>, String>;

    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest?;
        let field = match self.sep {
            Sep::Comma | Sep::Tab => {
                let sep = if self.sep == Sep::Comma { b',' } else { b'\t' };
                // Whitespace around a field, but not the separator itself.
                let blank = |b: u8| is_space(b) && b != sep;
                let start = rest.iter().position(|&b| !blank(b)).unwrap_or(rest.len());
                if rest.get(start) == Some(&b'"') {
                    let (field, after) = match self.quoted(&rest[start..]) {
                        Ok(parts) => parts,
                        Err(message) => return self.fail(message),
                    };
                    let after = &after[after.iter().take_while(|&&b| blank(b)).count()..];
                    match after.first() {
                        None => self.rest = None,
                        Some(&b) if b == sep => self.rest = Some(&after[1..]),
                        Some(_) => return self.fail(self.text_after_quote(after)),
                    }
                    field
                } else {
                    match memchr(sep, rest) {
                        Some(k) => {
                            self.rest = Some(&rest[k + 1..]);
                            Cow::Borrowed(trim(&rest[..k]))
                        }
                        None => {
                            self.rest = None;
                            Cow::Borrowed(trim(rest))
                        }
                    }
                }
            }
            Sep::Whitespace => {
                let start = rest
                    .iter()
                    .position(|&b| !is_space(b))
                    .unwrap_or(rest.len());
                if start == rest.len() {
                    self.rest = None;
                    return None;
                }
                let rest = &rest[start..];
                if rest[0] == b'"' {
                    let (field, after) = match self.quoted(rest) {
                        Ok(parts) => parts,
                        Err(message) => return self.fail(message),
                    };
                    if after.first().is_some_and(|&b| !is_space(b)) {
                        return self.fail(self.text_after_quote(after));
                    }
                    self.rest = Some(after);
                    field
                } else {
                    let end = rest.iter().position(|&b| is_space(b)).unwrap_or(rest.len());
                    self.rest = Some(&rest[end..]);
                    Cow::Borrowed(&rest[..end])
                }
            }
        };
        self.number += 1;
        Some(Ok(field))
    }
}

impl Fields<'_> {
    fn text_after_quote(&self, after: &[u8]) -> String {
        format!(
            "field {}: `{}` follows the closing quote (a quote inside a quoted field is \
             written twice: \"\")",
            self.number,
            show(after)
        )
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

/// Whether `field` is an integer as text: an optional sign, then only ASCII digits (at
/// least one), of any length (so also one too large for [`parse_i64`]).
pub(crate) fn is_integer_text(field: &[u8]) -> bool {
    let digits = field
        .strip_prefix(b"-")
        .or_else(|| field.strip_prefix(b"+"))
        .unwrap_or(field);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

/// Whether `field` reads as a number (integer or decimal, any size; not `nan` or `inf`):
/// what a header line's column names never are.
pub(crate) fn looks_numeric(field: &[u8]) -> bool {
    is_integer_text(field) || (field.iter().any(u8::is_ascii_digit) && parse_f64(field).is_some())
}

/// 1-based line of byte `offset` of `text`.
pub(crate) fn line_of(text: &[u8], offset: usize) -> usize {
    1 + memchr::memchr_iter(b'\n', &text[..offset.min(text.len())]).count()
}

/// `bytes` as text, or a format error of `path` naming the line of the first byte that
/// makes it not text: invalid UTF-8, or a NUL byte (a binary file, or UTF-16 text).
pub(crate) fn check_text<'b>(bytes: &'b [u8], path: &Path) -> Result<&'b str> {
    let text = std::str::from_utf8(bytes);
    let bad_utf8 = text.as_ref().err().map(|e| e.valid_up_to());
    let nul = memchr(0, &bytes[..bad_utf8.unwrap_or(bytes.len())]);
    match (text, nul) {
        (Ok(text), None) => Ok(text),
        (_, Some(at)) => Err(not_text(path, line_of(bytes, at), true)),
        (Err(e), None) => Err(not_text(path, line_of(bytes, e.valid_up_to()), false)),
    }
}

/// The error for a line that is not text: a NUL byte, or invalid UTF-8.
pub(crate) fn not_text(path: &Path, line: usize, nul: bool) -> Error {
    let message = if nul {
        "NUL byte: this is not a text file (a binary file? UTF-16 text must be saved as UTF-8)"
    } else {
        "not valid UTF-8 text"
    };
    Error::Format {
        path: path.to_path_buf(),
        line: Some(line),
        message: message.into(),
    }
}

/// The first byte of `chunk` that makes it not text, as `(offset, is_nul)`.
pub(crate) fn first_non_text(chunk: &[u8]) -> Option<(usize, bool)> {
    let utf8 = std::str::from_utf8(chunk).err().map(|e| e.valid_up_to());
    match memchr(0, &chunk[..utf8.unwrap_or(chunk.len())]) {
        Some(at) => Some((at, true)),
        None => utf8.map(|at| (at, false)),
    }
}

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
            .map(|f| String::from_utf8(f.unwrap().to_vec()).unwrap())
            .collect()
    }

    fn field_error(line: &str) -> String {
        Fields::new(line.as_bytes())
            .find_map(|f| f.err())
            .unwrap_or_else(|| panic!("{line:?} split without error"))
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

    /// RFC 4180 quotes, as pandas' QUOTE_ALL and R's write.csv / write.table write them.
    #[test]
    fn quoted_fields() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(fields(r#""a","b""#), s(&["a", "b"]));
        assert_eq!(fields(r#""a,b", "c""#), s(&["a,b", "c"]));
        assert_eq!(fields(r#""say ""hi""",x"#), s(&[r#"say "hi""#, "x"]));
        assert_eq!(fields(r#""""#), s(&[""]));
        assert_eq!(fields(r#""",1"#), s(&["", "1"]));
        assert_eq!(fields("\"a\tb\"\tc"), s(&["a\tb", "c"]));
        // Whitespace-separated, as R's write.table: quoted spaces are text.
        assert_eq!(
            fields(r#""New York" "Rome" 3"#),
            s(&["New York", "Rome", "3"])
        );
        // A quote inside an unquoted field is text.
        assert_eq!(fields(r#"ab"c,d"#), s(&[r#"ab"c"#, "d"]));
        // Separators inside quotes decide nothing: a quoted comma with tabs outside.
        assert_eq!(fields("\"a,b\"\t\"c\""), s(&["a,b", "c"]));
        assert_eq!(Sep::of(b"\"a,b\"\t\"c\""), Sep::Tab);
        assert_eq!(Sep::of(br#""x ""y"", z" w"#), Sep::Whitespace);
        assert_eq!(Sep::of(br#""x ""y""", z"#), Sep::Comma);
        // Malformed quoting names the field.
        assert!(field_error(r#""a,b"#).contains("field 1: the quoted field does not end"));
        assert!(field_error(r#"x,"a"b,c"#).contains("field 2: `b,c` follows the closing quote"));
        assert!(field_error(r#""a"b c"#).contains("field 1: `b c` follows"));
    }

    #[test]
    fn numbers_and_text_checks() {
        assert!(is_integer_text(b"18446744073709551616") && is_integer_text(b"-7"));
        assert!(!is_integer_text(b"+") && !is_integer_text(b"1.0") && !is_integer_text(b""));
        for yes in ["1", "1.5", "-2e3", ".5", "99999999999999999999999"] {
            assert!(looks_numeric(yes.as_bytes()), "{yes}");
        }
        for no in ["nan", "inf", "source", "", "-", "1x"] {
            assert!(!looks_numeric(no.as_bytes()), "{no}");
        }
        let p = Path::new("t.txt");
        assert_eq!(check_text(b"a\nb", p).unwrap(), "a\nb");
        let nul = check_text(b"a\nb\n\0c", p).unwrap_err().to_string();
        assert!(nul.starts_with("t.txt:3: NUL byte"), "{nul}");
        let utf8 = check_text(b"a\n\xff\n\0", p).unwrap_err().to_string();
        assert_eq!(utf8, "t.txt:2: not valid UTF-8 text");
        assert_eq!(first_non_text(b"ab\0"), Some((2, true)));
        assert_eq!(first_non_text(b"ab\xc3"), Some((2, false)));
        assert_eq!(first_non_text(b"ab"), None);
    }

    #[test]
    fn lines_skip_blanks_comments_and_bom() {
        let text = b"\xef\xbb\xbf# c\n\n  1 2\r\n% x\n3 4";
        let lines: Vec<(usize, &[u8])> = Lines::new(text, 1).collect();
        assert_eq!(lines, vec![(3, &b"1 2"[..]), (5, &b"3 4"[..])]);
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
