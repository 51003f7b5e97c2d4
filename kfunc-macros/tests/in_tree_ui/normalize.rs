//! trybuild's normalization of one rendered compiler diagnostic, as `compile_fail` applies it
//! before comparing with a `.stderr` file: ported from `src/normalize.rs` of trybuild 1.0.122
//! (the version in `Cargo.lock`; MIT OR Apache-2.0, David Tolnay), at its last normalization
//! step, the "preferred" variation that trybuild writes into new `.stderr` files.
//!
//! Left out, as they cannot apply here: path dependencies outside the workspace (kfunc-macros
//! has none), Windows backslashes in `required because it appears within the type` notes.
//! `tests/compile_fail_in_tree.rs` runs the host build of the macros through this port as a
//! control: every reviewed `.stderr` must come out identical, as it does under trybuild.

use std::cmp;
use std::mem;

/// Where the case was compiled from, as trybuild's `Context`.
pub struct Context<'a> {
    /// The name of the case's crate (`trybuild000`, ...): replaced by `$CRATE`.
    pub krate: &'a str,
    /// The crate's manifest directory, with a trailing `/`.
    pub source_dir: &'a str,
    /// The workspace root, with a trailing `/`.
    pub workspace: &'a str,
    /// The case, relative to `source_dir` (`tests/ui/x.rs`): only its lines keep numbers.
    pub input_file: &'a str,
    /// The workspace's target directory, with a trailing `/`.
    pub target_dir: &'a str,
}

/// `rendered` (one diagnostic's text) as trybuild writes it into a `.stderr` file.
pub fn diagnostic(rendered: &str, cx: &Context) -> String {
    let original = rendered.replace("\r\n", "\n");
    let lines: Vec<&str> = original.lines().collect();
    let mut filter = Filter {
        all_lines: &lines,
        cx,
        hide_numbers: 0,
        other_types: None,
    };
    let mut normalized = String::new();
    for i in 0..lines.len() {
        if let Some(line) = filter.apply(i) {
            normalized += &line;
            if !normalized.ends_with("\n\n") {
                normalized.push('\n');
            }
        }
    }
    trim(&unindent(&normalized))
}

/// Diagnostics joined as trybuild joins them (one blank line between two non-empty ones).
pub fn concat(out: &mut String, diag: &str) {
    if !out.is_empty() && !diag.is_empty() {
        out.push('\n');
    }
    out.push_str(diag);
}

/// Trailing whitespace removed, one final newline if anything is left.
pub fn trim(s: &str) -> String {
    let mut t = s.trim_end().to_string();
    if !t.is_empty() {
        t.push('\n');
    }
    t
}

struct Filter<'a> {
    all_lines: &'a [&'a str],
    cx: &'a Context<'a>,
    hide_numbers: usize,
    other_types: Option<usize>,
}

fn lower_slash(s: &str) -> String {
    s.to_ascii_lowercase().replace('\\', "/")
}

fn is_ascii_lowercase_hex(s: &str) -> bool {
    s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

impl Filter<'_> {
    fn apply(&mut self, index: usize) -> Option<String> {
        let mut line = self.all_lines[index].to_owned();

        if self.hide_numbers > 0 {
            hide_leading_numbers(&mut line);
            self.hide_numbers -= 1;
        }

        let trim_start = line.trim_start();
        let indent = line.len() - trim_start.len();
        let is_path_line = trim_start.starts_with("--> ") || trim_start.starts_with("::: ");

        if is_path_line {
            return Some(self.path_line(index, line, indent));
        }

        let dropped = [
            "error: aborting due to ",
            "error: Could not compile `",
            "error: could not compile `",
            "For more information about this error, try `rustc --explain",
            "Some errors have detailed explanations:",
            "For more information about an error, try `rustc --explain",
        ];
        if dropped.iter().any(|p| line.starts_with(p))
            || line == "To learn more, run the command again with --verbose."
            || (trim_start.starts_with("= note: this compiler was built on 2")
                && trim_start.ends_with("; consider upgrading it if it is out of date"))
        {
            return None;
        }

        line.truncate(line.trim_end().len());

        // "and 12 others" -> "and $N others"
        let trim_start = line.trim_start();
        if trim_start.starts_with("and ") && line.ends_with(" others") {
            let indent = line.len() - trim_start.len();
            let num_start = indent + "and ".len();
            let num_end = line.len() - " others".len();
            if num_start < num_end && line[num_start..num_end].bytes().all(|b| b.is_ascii_digit()) {
                line.replace_range(num_start..num_end, "$N");
            }
        }

        let trimmed = line.trim_start();
        let trimmed = trimmed.strip_prefix("= note: ").unwrap_or(trimmed);
        if trimmed.starts_with("the full type name has been written to")
            || trimmed.starts_with("the full name for the type has been written to")
        {
            return None;
        }

        // At most 8 of "the following other types implement trait", then "and $N others".
        let trim_start = line.trim_start();
        let indent = line.len() - trim_start.len();
        if trim_start.starts_with("= help: the following types implement trait ")
            || trim_start.starts_with("= help: the following other types implement trait ")
        {
            self.other_types = Some(0);
        } else if let Some(count) = &mut self.other_types {
            if indent >= 12 && trim_start != "and $N others" {
                *count += 1;
                if *count == 9 {
                    if let Some(next) = self.all_lines.get(index + 1) {
                        let next_indent = next.len() - next.trim_start().len();
                        if indent == next_indent {
                            line.replace_range(indent - 2.., "and $N others");
                        }
                    }
                } else if *count > 9 {
                    return None;
                }
            } else {
                self.other_types = None;
            }
        }

        line = line.replace(self.cx.krate, "$CRATE");
        line = replace_case_insensitive(&line, self.cx.source_dir, "$DIR/");
        line = replace_case_insensitive(&line, self.cx.workspace, "$WORKSPACE/");
        Some(line)
    }

    /// A `--> path:line:col` or `::: path:line:col` line: paths made relative or symbolic;
    /// line numbers kept only in the case's own file.
    fn path_line(&mut self, index: usize, line: String, indent: usize) -> String {
        let mut line = line.replace('\\', "/");
        let line_lower = line.to_ascii_lowercase();
        let target_dir_pat = lower_slash(self.cx.target_dir);
        let source_dir_pat = lower_slash(self.cx.source_dir);
        let mut other_crate = false;
        if line_lower.find(&target_dir_pat) == Some(indent + 4) {
            let mut offset = indent + 4 + target_dir_pat.len();
            let mut out_dir_crate_name = None;
            while let Some(slash) = line[offset..].find('/') {
                let component = &line[offset..offset + slash];
                if component == "out" {
                    if let Some(name) = out_dir_crate_name {
                        let replacement = format!("$OUT_DIR[{name}]");
                        line.replace_range(indent + 4..offset + 3, &replacement);
                        other_crate = true;
                        break;
                    }
                } else if component.len() > 17
                    && component.rfind('-') == Some(component.len() - 17)
                    && is_ascii_lowercase_hex(&component[component.len() - 16..])
                {
                    out_dir_crate_name = Some(component[..component.len() - 17].to_string());
                } else {
                    out_dir_crate_name = None;
                }
                offset += slash + 1;
            }
        } else if let Some(i) = line_lower.find(&source_dir_pat) {
            if i == indent + 4 {
                line.replace_range(i..i + source_dir_pat.len(), "");
                let input_file_pat = lower_slash(self.cx.input_file);
                if line_lower[i + source_dir_pat.len()..].starts_with(&input_file_pat) {
                    // Line numbers are kept only within the case's own file.
                    return line;
                }
            } else {
                line.replace_range(i..i + source_dir_pat.len() - 1, "$DIR");
            }
            other_crate = true;
        } else {
            let workspace_pat = lower_slash(self.cx.workspace);
            if let Some(i) = line_lower.find(&workspace_pat) {
                line.replace_range(i..i + workspace_pat.len() - 1, "$WORKSPACE");
                other_crate = true;
            }
        }
        if !other_crate {
            if let Some(pos) = line.find("/rustlib/src/rust/src/") {
                line.replace_range(indent + 4..pos + 17, "$RUST");
                other_crate = true;
            } else if let Some(pos) = line.find("/rustlib/src/rust/library/") {
                line.replace_range(indent + 4..pos + 25, "$RUST");
                other_crate = true;
            } else if line[indent + 4..].starts_with("/rustc/")
                && line
                    .get(indent + 11..indent + 51)
                    .is_some_and(is_ascii_lowercase_hex)
                && line[indent + 51..].starts_with("/library/")
            {
                line.replace_range(indent + 4..indent + 59, "$RUST");
                other_crate = true;
            }
        }
        if !other_crate && normalize_cargo_registry(&mut line, indent) {
            other_crate = true;
            let rest = &line[indent + 11..];
            let end_of_version = rest.find('/');
            if let Some(end_of_crate_name) = end_of_version
                .and_then(|end| rest[..end].find('.'))
                .and_then(|end| rest[..end].rfind('-'))
            {
                line.replace_range(
                    indent + end_of_crate_name + 12..indent + end_of_version.unwrap() + 11,
                    "$VERSION",
                );
            }
        }
        if other_crate {
            // Line numbers of other files (the shared prelude, std, ...) are blanked out.
            hide_trailing_numbers(&mut line);
            self.hide_numbers = 1;
            while let Some(next_line) = self.all_lines.get(index + self.hide_numbers) {
                match next_line.trim_start().chars().next().unwrap_or_default() {
                    '0'..='9' | '|' | '.' => self.hide_numbers += 1,
                    _ => break,
                }
            }
        }
        line
    }
}

/// `.../registry/src/{name}-{16 hex}/...` -> `$CARGO/...`; whether it was one.
fn normalize_cargo_registry(line: &mut String, indent: usize) -> bool {
    let prefix = "/registry/src/";
    let Some(pos) = line.find(prefix) else {
        return false;
    };
    let rest = &line[pos + prefix.len()..];
    let Some(slash) = rest.find('/') else {
        return false;
    };
    let Some((_, hash)) = rest[..slash].rsplit_once('-') else {
        return false;
    };
    if !(hash.len() == 16 && is_ascii_lowercase_hex(hash)) {
        return false;
    }
    let hash_end = pos + prefix.len() + slash;
    line.replace_range(indent + 4..hash_end, "$CARGO");
    true
}

/// `"10 | T: Send,"` -> `"   | T: Send,"`.
fn hide_leading_numbers(line: &mut String) {
    let n = line
        .bytes()
        .take_while(|b| *b == b' ' || b.is_ascii_digit())
        .count();
    line.replace_range(..n, &" ".repeat(n));
}

/// `"main.rs:22:29"` -> `"main.rs"`.
fn hide_trailing_numbers(line: &mut String) {
    for _ in 0..2 {
        let digits = line.bytes().rev().take_while(u8::is_ascii_digit).count();
        if digits == 0 || !line[..line.len() - digits].ends_with(':') {
            return;
        }
        line.truncate(line.len() - digits - 1);
    }
}

fn replace_case_insensitive(line: &str, pattern: &str, replacement: &str) -> String {
    let line_lower = lower_slash(line);
    let pattern_lower = lower_slash(pattern);
    let mut replaced = String::with_capacity(line.len());
    let line_lower = line_lower.as_str();
    let mut split = line_lower.split(pattern_lower.as_str());
    let mut pos = 0;
    let mut insert_replacement = false;
    while let Some(keep) = split.next() {
        if insert_replacement {
            replaced.push_str(replacement);
            pos += pattern.len();
        }
        let mut keep = &line[pos..pos + keep.len()];
        if insert_replacement {
            let end_of_maybe_path = keep.find([' ', ':']).unwrap_or(keep.len());
            replaced.push_str(&keep[..end_of_maybe_path].replace('\\', "/"));
            pos += end_of_maybe_path;
            keep = &keep[end_of_maybe_path..];
        }
        replaced.push_str(keep);
        pos += keep.len();
        insert_replacement = true;
        if replaced.ends_with(|ch: char| ch.is_ascii_alphanumeric()) {
            if let Some(ch) = line[pos..].chars().next() {
                replaced.push(ch);
                pos += ch.len_utf8();
                split = line_lower[pos..].split(pattern_lower.as_str());
                insert_replacement = false;
            }
        }
    }
    replaced
}

#[derive(PartialEq)]
enum Kind {
    /// `error...`, `warning...`.
    Heading,
    /// A code line, with the spaces that can be cut.
    Code(usize),
    /// `note:`, `help:`, `...`.
    Note,
    /// Anything else, with its leading spaces.
    Other(usize),
}

/// The source blocks after each heading shifted left as far as they all can go.
fn unindent(diag: &str) -> String {
    let mut normalized = String::new();
    let mut lines = diag.lines();
    while let Some(line) = lines.next() {
        normalized.push_str(line);
        normalized.push('\n');
        if kind(line, true, &mut false) != Kind::Heading {
            continue;
        }
        let mut ahead = lines.clone();
        let Some(next_line) = ahead.next() else {
            continue;
        };
        let Kind::Code(indent) = kind(next_line, false, &mut false) else {
            continue;
        };
        if !next_line[indent + 1..].starts_with("--> ") {
            continue;
        }
        let mut lines_in_block = 1;
        let mut least_indent = indent;
        let mut previous_line_is_note = false;
        for line in ahead {
            match kind(line, false, &mut previous_line_is_note) {
                Kind::Heading => break,
                Kind::Code(indent) => {
                    lines_in_block += 1;
                    least_indent = cmp::min(least_indent, indent);
                }
                Kind::Note => lines_in_block += 1,
                Kind::Other(spaces) => {
                    if spaces > 10 {
                        lines_in_block += 1;
                    } else {
                        break;
                    }
                }
            }
        }
        previous_line_is_note = false;
        for _ in 0..lines_in_block {
            let line = lines.next().unwrap();
            if let Kind::Code(_) | Kind::Other(_) = kind(line, false, &mut previous_line_is_note) {
                let space = line.find(' ').unwrap();
                normalized.push_str(&line[..space]);
                normalized.push_str(&line[space + least_indent..]);
            } else {
                normalized.push_str(line);
            }
            normalized.push('\n');
        }
    }
    normalized
}

fn kind(line: &str, first_line_in_block: bool, previous_line_is_note: &mut bool) -> Kind {
    let previous_line_was_note = mem::replace(previous_line_is_note, false);
    for heading in ["error", "warning"] {
        if line.starts_with(heading) && line[heading.len()..].starts_with([':', '[']) {
            return Kind::Heading;
        }
    }
    if first_line_in_block && line.starts_with("note: ") {
        return Kind::Heading;
    }
    if line.starts_with("note:")
        || line == "..."
        || line.starts_with("help:")
        || previous_line_was_note && line.starts_with("      ")
    {
        *previous_line_is_note = true;
        return Kind::Note;
    }
    let is_space = |b: &u8| *b == b' ';
    if let Some(rest) = line.strip_prefix("... ") {
        return Kind::Code(rest.bytes().take_while(is_space).count());
    }
    let mut spaces = line.bytes().take_while(is_space).count();
    let digits = line[spaces..]
        .bytes()
        .take_while(u8::is_ascii_digit)
        .count();
    spaces += line[spaces + digits..].bytes().take_while(is_space).count();
    let rest = &line[digits + spaces..];
    let code = rest == "|"
        || rest.starts_with("| ")
        || digits > 0
            && ["~", "+", "-"]
                .iter()
                .any(|m| rest == *m || rest.starts_with(&format!("{m} ")))
        || digits == 0
            && (rest.starts_with("--> ") || rest.starts_with("::: ") || rest.starts_with("= "));
    if spaces > 0 && code {
        return Kind::Code(spaces - 1);
    }
    Kind::Other(if digits == 0 { spaces } else { 0 })
}

/// Test vectors of trybuild 1.0.122 (`src/tests/{rust-lib,and-n-others,
/// right-aligned-line-number}.rs`), in its context (`/git/trybuild/test_suite`).
#[cfg(test)]
mod tests {
    use super::{diagnostic, Context};

    fn check(input_file: &str, original: &str, expected: &str) {
        let cx = Context {
            krate: "trybuild000",
            source_dir: "/git/trybuild/test_suite/",
            workspace: "/git/trybuild/",
            input_file,
            target_dir: "/git/trybuild/target/",
        };
        assert_eq!(diagnostic(original, &cx), expected);
    }

    #[test]
    fn rust_lib() {
        check(
            "tests/ui/not-repeatable.rs",
            "
error[E0599]: no method named `quote_into_iter` found for struct `std::net::Ipv4Addr` in the current scope
  --> /git/trybuild/test_suite/tests/ui/not-repeatable.rs:6:13
   |
6  |     let _ = quote! { #(#ip)* };
   |             ^^^^^^^^^^^^^^^^^^ method not found in `std::net::Ipv4Addr`
   |
  ::: /rustlib/src/rust/src/libstd/net/ip.rs:83:1
  ::: /rustlib/src/rust/library/std/src/net/ip.rs:83:1
   |
83 | pub struct Ipv4Addr {
   | -------------------
   | |
   | doesn't satisfy `std::net::Ipv4Addr: quote::to_tokens::ToTokens`
",
            "
error[E0599]: no method named `quote_into_iter` found for struct `std::net::Ipv4Addr` in the current scope
 --> tests/ui/not-repeatable.rs:6:13
  |
6 |     let _ = quote! { #(#ip)* };
  |             ^^^^^^^^^^^^^^^^^^ method not found in `std::net::Ipv4Addr`
  |
 ::: $RUST/src/libstd/net/ip.rs
 ::: $RUST/std/src/net/ip.rs
  |
  | pub struct Ipv4Addr {
  | -------------------
  | |
  | doesn't satisfy `std::net::Ipv4Addr: quote::to_tokens::ToTokens`
",
        );
    }

    #[test]
    fn and_n_others() {
        let list = "  = help: the trait `Shr<&str>` is not implemented for `u8`
  = help: the following other types implement trait `Shr<Rhs>`:
            <&'a i128 as Shr<i128>>
            <&'a i128 as Shr<i16>>
            <&'a i128 as Shr<i32>>
            <&'a i128 as Shr<i64>>
            <&'a i128 as Shr<i8>>
            <&'a i128 as Shr<isize>>
            <&'a i128 as Shr<u128>>
            <&'a i128 as Shr<u16>>
";
        let head = "
error[E0277]: no implementation for `u8 >> &str`
 --> src/main.rs:2:20
  |
2 |     let _x = 42_u8 >> \"bar\";
  |                    ^^ no implementation for `u8 >> &str`
  |
";
        check(
            "tests/ui/error.rs",
            &format!("{head}{list}          and 568 others\n"),
            &format!("{head}{list}          and $N others\n"),
        );
    }

    #[test]
    fn right_aligned_line_number() {
        let text = "
error[E0412]: cannot find type `F` in this scope
  --> $DIR/ui-testing-optout.rs:92:10
   |
 4 | type A = B;
   | ----------- similarly named type alias `A` defined here
...
92 | type E = F;
   |          ^ help: a type alias with a similar name exists: `A`
";
        check("tests/ui-testing-optout.rs", text, text);
    }
}
