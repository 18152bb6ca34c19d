//! SQL line comments survive Jinja's whitespace control.
//!
//! A `-- comment` ends at the end of its line. Jinja's `-` in `{%-`, `{{-` or `{#-` strips all
//! whitespace before the tag, the newline that ends the comment included, and `-%}`, `-}}` or
//! `-#}` strips all whitespace after a tag; either way the next line of SQL is joined onto the
//! comment and silently commented out:
//!
//! ```sql
//! select a  -- the amount
//! {%- if with_b %}, b{% endif %}
//! from t
//! ```
//!
//! renders `select a  -- the amount, b` then `from t`: `b` is gone. Before rendering, a trimming
//! marker that would strip the newline ending a line comment is dropped, and the whitespace it
//! would have stripped is reduced to its newlines; every other trim works as written.

use std::borrow::Cow;

/// The template `text` with every whitespace-control marker that would join a SQL line comment
/// with the following line removed (see the module documentation).
pub(super) fn keep_line_comments(text: &str) -> Cow<'_, str> {
    if !text.contains("--") {
        return Cow::Borrowed(text);
    }
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut sql = SqlState::Code;
    let mut i = 0;
    while i < b.len() {
        // A Jinja tag: copied whole; inside a line comment its right trim must not eat the newline.
        if let Some(close) = tag_close(b, i) {
            let end = find(b, i + 2, close).map_or(b.len(), |e| e + 2);
            let tag = &text[i..end];
            let ws_end = skip_ws(b, end);
            let trims_right = tag.len() >= 5 && b[end - 3] == b'-';
            if sql == SqlState::LineComment && trims_right && b[end..ws_end].contains(&b'\n') {
                out.push_str(&tag[..tag.len() - 3]);
                out.push_str(&tag[tag.len() - 2..]);
            } else {
                out.push_str(tag);
            }
            i = end;
            continue;
        }
        let c = b[i];
        match sql {
            SqlState::Code => {
                if b[i..].starts_with(b"--") {
                    sql = SqlState::LineComment;
                    out.push_str("--");
                    i += 2;
                    continue;
                } else if b[i..].starts_with(b"/*") {
                    sql = SqlState::BlockComment;
                    out.push_str("/*");
                    i += 2;
                    continue;
                } else if c == b'\'' {
                    sql = SqlState::Quoted(b'\'');
                } else if c == b'"' {
                    sql = SqlState::Quoted(b'"');
                }
            }
            SqlState::Quoted(q) if c == q => sql = SqlState::Code,
            SqlState::BlockComment if b[i..].starts_with(b"*/") => {
                sql = SqlState::Code;
                out.push_str("*/");
                i += 2;
                continue;
            }
            SqlState::LineComment if c == b'\n' => {
                sql = SqlState::Code;
                // The comment's newline, then a tag that trims on its left: keep this newline
                // (the whitespace up to the tag would have been stripped anyway).
                let ws_end = skip_ws(b, i);
                if let Some(close) =
                    tag_close(b, ws_end).filter(|_| b.get(ws_end + 2) == Some(&b'-'))
                {
                    let end = find(b, ws_end + 3, close).map_or(b.len(), |e| e + 2);
                    // Every newline stays, so that line numbers in template errors stay right.
                    let newlines = b[i..ws_end].iter().filter(|c| **c == b'\n').count();
                    out.push_str(&"\n".repeat(newlines));
                    out.push_str(&text[ws_end..ws_end + 2]);
                    out.push_str(&text[ws_end + 3..end]);
                    i = end;
                    continue;
                }
            }
            _ => {}
        }
        let ch = text[i..].chars().next().expect("a char at a char boundary");
        out.push(ch);
        i += ch.len_utf8();
    }
    Cow::Owned(out)
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SqlState {
    Code,
    Quoted(u8),
    LineComment,
    BlockComment,
}

/// The closing delimiter of the Jinja tag opening at `i`, if one opens there.
fn tag_close(b: &[u8], i: usize) -> Option<&'static [u8]> {
    match b.get(i..i + 2)? {
        b"{{" => Some(b"}}"),
        b"{%" => Some(b"%}"),
        b"{#" => Some(b"#}"),
        _ => None,
    }
}

fn find(b: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    b.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::keep_line_comments;

    #[test]
    fn a_left_trim_after_a_comment_keeps_its_newline() {
        assert_eq!(
            keep_line_comments("select a  -- the amount\n  {%- if b %}, b{% endif %}\nfrom t"),
            "select a  -- the amount\n{% if b %}, b{% endif %}\nfrom t"
        );
        assert_eq!(
            keep_line_comments("a -- x\n\n{{- y }}"),
            "a -- x\n\n{{ y }}"
        );
        assert_eq!(
            keep_line_comments("a -- x\r\n {#- c -#} b"),
            "a -- x\r\n{# c -#} b"
        );
    }

    #[test]
    fn a_right_trim_inside_a_comment_keeps_its_newline() {
        assert_eq!(
            keep_line_comments("select a -- {{ var('x') -}}\n, b"),
            "select a -- {{ var('x') }}\n, b"
        );
        // Followed by more comment on the same line: the trim stays.
        assert_eq!(
            keep_line_comments("-- {{ x -}} more\nb"),
            "-- {{ x -}} more\nb"
        );
    }

    /// Through the renderer: the line after the comment is SQL again, with and without the `if`.
    #[test]
    fn rendered_sql_keeps_the_line_after_a_comment() {
        let render = |text: &str| {
            crate::jinja::render_sql(
                text,
                crate::source::Span::DUMMY,
                &crate::jinja::MacroLibrary::default(),
                "",
                &Default::default(),
            )
            .expect("renders")
        };
        assert_eq!(
            render("select a  -- the amount\n{%- if true %}, b{% endif %}\nfrom t"),
            "select a  -- the amount\n, b\nfrom t"
        );
        assert_eq!(
            render("select a  -- the amount\n{%- if false %}, b{% endif %}\nfrom t"),
            "select a  -- the amount\n\nfrom t"
        );
        assert_eq!(
            render("select a -- {{ 'note' -}}\n, b from t"),
            "select a -- note\n, b from t"
        );
        // Without a comment the trim joins the lines as Jinja does.
        assert_eq!(
            render("select a\n{%- if true %}, b{% endif %} from t"),
            "select a, b from t"
        );
    }

    #[test]
    fn other_trims_and_dashes_stay_as_written() {
        for text in [
            "select a\n{%- if b %}, b{% endif %}",
            "select '--' as s\n{%- if b %}, b{% endif %}",
            "select \"a--b\"\n{{- c }}",
            "select /* -- */ a\n{%- if b %}{% endif %}",
            "select a -- c\nfrom t",
            "select 1 - -1",
            "{{ '--' -}}\n x",
            "-- é ü\nselect 1",
        ] {
            assert_eq!(keep_line_comments(text), text, "{text}");
        }
    }
}
