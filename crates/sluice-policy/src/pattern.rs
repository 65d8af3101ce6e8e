//! Text in a policy that is matched against a request: with `*` and `?` wildcards where the element
//! allows them (`Action`, `Resource`, `StringLike`, `ArnLike`), and with policy variables
//! (`${aws:username}`, `${aws:PrincipalTag/team, 'none'}`, and `${*}`, `${?}`, `${$}` for the
//! characters themselves) in documents of version 2012-10-17. A variable is replaced by the request's
//! value of its key; a variable whose key the request lacks, and that has no default, makes the
//! pattern match nothing.

use std::borrow::Cow;

#[derive(Clone, Debug, PartialEq)]
enum Part {
    /// Text whose `*` and `?` are wildcards when matched as a pattern.
    Text(String),
    /// A character written as `${*}`, `${?}` or `${$}`: never a wildcard.
    Literal(char),
    Variable {
        /// Lowercase, as condition keys are compared.
        key: String,
        default: Option<String>,
    },
}

/// One step of a compiled pattern, over the bytes of the text it is matched against.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Atom {
    Byte(u8),
    /// `*`: any run of characters, none included.
    Any,
    /// `?`: exactly one character.
    One,
}

/// How a pattern finds the value of a policy variable: the request's single value of the key.
pub(crate) trait Variables {
    fn variable(&self, key: &str) -> Option<String>;
}

#[derive(Clone, Debug)]
pub struct Pattern {
    parts: Vec<Part>,
    /// Without variables, the atoms with wildcards, compiled once.
    wild: Option<Vec<Atom>>,
    /// Without variables, the text itself.
    plain: Option<String>,
    /// Without variables, the six parts of the pattern as an ARN (`None` inside when it has not
    /// six), compiled once.
    arn: Option<Option<Vec<ArnPart>>>,
}

/// One colon-separated part of an ARN pattern.
#[derive(Clone, Debug)]
enum ArnPart {
    /// `*`: anything.
    Any,
    /// No wildcard: these bytes exactly.
    Exact(Vec<u8>),
    Glob(Vec<Atom>),
}

impl ArnPart {
    fn matches(&self, text: &str) -> bool {
        match self {
            ArnPart::Any => true,
            ArnPart::Exact(bytes) => bytes == text.as_bytes(),
            ArnPart::Glob(atoms) => glob(atoms, text.as_bytes(), false),
        }
    }
}

/// A resource's ARN split once into its six parts (the last may hold colons); `None` when it has
/// fewer, which only `*` matches.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Arn<'a>(Option<[&'a str; 6]>);

impl<'a> Arn<'a> {
    pub(crate) fn split(text: &'a str) -> Self {
        let mut parts = text.splitn(6, ':');
        let mut split = [""; 6];
        for slot in &mut split {
            match parts.next() {
                Some(part) => *slot = part,
                None => return Arn(None),
            }
        }
        Arn(Some(split))
    }
}

fn arn_parts(atoms: &[Atom]) -> Option<Vec<ArnPart>> {
    let parts: Vec<ArnPart> = atoms
        .splitn(6, |atom| *atom == Atom::Byte(b':'))
        .map(|part| match part {
            [Atom::Any] => ArnPart::Any,
            _ if part.iter().all(|a| matches!(a, Atom::Byte(_))) => ArnPart::Exact(
                part.iter()
                    .filter_map(|a| match a {
                        Atom::Byte(b) => Some(*b),
                        _ => None,
                    })
                    .collect(),
            ),
            _ => ArnPart::Glob(part.to_vec()),
        })
        .collect();
    (parts.len() == 6).then_some(parts)
}

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.parts == other.parts
    }
}

impl Pattern {
    /// Reads `text`, with policy variables when `variables` (version 2012-10-17), lowercased when
    /// `lowercase` (actions, which match case-insensitively).
    pub fn parse(text: &str, variables: bool, lowercase: bool) -> Pattern {
        let text: Cow<str> = if lowercase {
            Cow::Owned(text.to_ascii_lowercase())
        } else {
            Cow::Borrowed(text)
        };
        let parts = if variables {
            split_variables(&text)
        } else {
            vec![Part::Text(text.into_owned())]
        };
        let constant = parts.iter().all(|p| !matches!(p, Part::Variable { .. }));
        let mut pattern = Pattern {
            parts,
            wild: None,
            plain: None,
            arn: None,
        };
        if constant {
            pattern.wild = pattern.atoms(&NoVariables, true);
            pattern.arn = pattern.wild.as_deref().map(arn_parts);
            pattern.plain = pattern.text(&NoVariables).map(Cow::into_owned);
        }
        pattern
    }

    /// Whether the pattern is `*` alone.
    pub(crate) fn is_any(&self) -> bool {
        matches!(self.parts.as_slice(), [Part::Text(t)] if t == "*")
    }

    /// The text with variables replaced; `None` when one has no value.
    pub(crate) fn text<'a>(&'a self, vars: &dyn Variables) -> Option<Cow<'a, str>> {
        if let Some(plain) = &self.plain {
            return Some(Cow::Borrowed(plain));
        }
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Literal(c) => out.push(*c),
                Part::Variable { key, default } => {
                    out.push_str(&vars.variable(key).or_else(|| default.clone())?)
                }
            }
        }
        Some(Cow::Owned(out))
    }

    fn atoms(&self, vars: &dyn Variables, wildcards: bool) -> Option<Vec<Atom>> {
        let mut atoms = Vec::new();
        let literal = |atoms: &mut Vec<Atom>, text: &str| {
            atoms.extend(text.bytes().map(Atom::Byte));
        };
        for part in &self.parts {
            match part {
                Part::Text(t) if wildcards => {
                    for c in t.chars() {
                        match c {
                            '*' => atoms.push(Atom::Any),
                            '?' => atoms.push(Atom::One),
                            c => literal(&mut atoms, c.encode_utf8(&mut [0; 4])),
                        }
                    }
                }
                Part::Text(t) => literal(&mut atoms, t),
                Part::Literal(c) => literal(&mut atoms, c.encode_utf8(&mut [0; 4])),
                Part::Variable { key, default } => {
                    literal(&mut atoms, &vars.variable(key).or_else(|| default.clone())?)
                }
            }
        }
        Some(atoms)
    }

    /// Whether `text` matches, `*` and `?` being wildcards.
    pub(crate) fn like(&self, text: &str, ignore_case: bool, vars: &dyn Variables) -> bool {
        match &self.wild {
            Some(atoms) => glob(atoms, text.as_bytes(), ignore_case),
            None => self
                .atoms(vars, true)
                .is_some_and(|atoms| glob(&atoms, text.as_bytes(), ignore_case)),
        }
    }

    /// ARN matching as `Resource` and the `Arn…` operators do it: each of the six colon-separated
    /// parts is matched on its own, its `*` and `?` never reaching into the next part; the last part
    /// (the resource) may itself hold colons. `*` alone matches anything. A character written as
    /// `${*}` or `${?}`, and a variable's value, are matched as they are, never as wildcards.
    pub(crate) fn arn_like(&self, arn: &Arn<'_>, vars: &dyn Variables) -> bool {
        if self.is_any() {
            return true;
        }
        let Some(arn) = arn.0 else {
            return false;
        };
        let compiled;
        let parts = match &self.arn {
            Some(parts) => parts,
            None => {
                compiled = self.atoms(vars, true).map(|atoms| arn_parts(&atoms));
                match &compiled {
                    Some(parts) => parts,
                    None => return false,
                }
            }
        };
        parts.as_ref().is_some_and(|parts| {
            parts
                .iter()
                .zip(arn.iter())
                .all(|(pattern, part)| pattern.matches(part))
        })
    }

    /// Whether `text` is the pattern's text, wildcards being plain characters.
    pub(crate) fn equals(&self, text: &str, ignore_case: bool, vars: &dyn Variables) -> bool {
        self.text(vars).is_some_and(|own| {
            if ignore_case {
                own.to_lowercase() == text.to_lowercase()
            } else {
                own == text
            }
        })
    }
}

struct NoVariables;

impl Variables for NoVariables {
    fn variable(&self, _: &str) -> Option<String> {
        None
    }
}

fn split_variables(text: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut rest = text;
    let mut plain = String::new();
    while let Some(start) = rest.find("${") {
        let Some(length) = rest[start..].find('}') else {
            break;
        };
        plain.push_str(&rest[..start]);
        let inner = &rest[start + 2..start + length];
        let part = match inner {
            "*" => Part::Literal('*'),
            "?" => Part::Literal('?'),
            "$" => Part::Literal('$'),
            _ => {
                let (key, default) = match inner.split_once(',') {
                    Some((key, default)) => {
                        let default = default.trim();
                        let default = default
                            .strip_prefix('\'')
                            .and_then(|d| d.strip_suffix('\''))
                            .unwrap_or(default);
                        (key, Some(default.to_string()))
                    }
                    None => (inner, None),
                };
                Part::Variable {
                    key: key.trim().to_ascii_lowercase(),
                    default,
                }
            }
        };
        if !plain.is_empty() {
            parts.push(Part::Text(std::mem::take(&mut plain)));
        }
        parts.push(part);
        rest = &rest[start + length + 1..];
    }
    plain.push_str(rest);
    if !plain.is_empty() || parts.is_empty() {
        parts.push(Part::Text(plain));
    }
    parts
}

/// Matches bytes against atoms; `?` takes one whole UTF-8 character, and `*` resumes only at
/// character boundaries, so a multi-byte character is never split.
fn glob(atoms: &[Atom], text: &[u8], ignore_case: bool) -> bool {
    let same = |a: u8, b: u8| a == b || (ignore_case && a.eq_ignore_ascii_case(&b));
    let boundary = |i: usize| i >= text.len() || (text[i] & 0xC0) != 0x80;
    let char_len = |i: usize| {
        let mut end = i + 1;
        while end < text.len() && (text[end] & 0xC0) == 0x80 {
            end += 1;
        }
        end - i
    };
    let (mut a, mut t) = (0, 0);
    let mut resume: Option<(usize, usize)> = None;
    while t < text.len() {
        match atoms.get(a) {
            Some(Atom::Byte(b)) if same(*b, text[t]) => {
                a += 1;
                t += 1;
                continue;
            }
            Some(Atom::One) if boundary(t) => {
                a += 1;
                t += char_len(t);
                continue;
            }
            Some(Atom::Any) => {
                resume = Some((a, t));
                a += 1;
                continue;
            }
            _ => {}
        }
        match resume {
            Some((star, from)) => {
                let next = from + char_len(from);
                resume = Some((star, next));
                a = star + 1;
                t = next;
            }
            None => return false,
        }
    }
    atoms[a..].iter().all(|atom| *atom == Atom::Any)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arn_like(pattern: &str, arn: &str) -> bool {
        Pattern::parse(pattern, false, false).arn_like(&Arn::split(arn), &NoVariables)
    }

    struct Vars;

    impl Variables for Vars {
        fn variable(&self, key: &str) -> Option<String> {
            (key == "aws:username").then(|| "alice".to_string())
        }
    }

    fn like(pattern: &str, text: &str) -> bool {
        Pattern::parse(pattern, true, false).like(text, false, &Vars)
    }

    #[test]
    fn wildcards() {
        assert!(like("a*c", "abbbc"));
        assert!(like("a*c", "ac"));
        assert!(like("a?c", "abc"));
        assert!(like("a?c", "aéc"));
        assert!(!like("a?c", "abbc"));
        assert!(like("*", ""));
        assert!(like("*é", "xyé"));
        assert!(!like("a*b*c", "acb"));
        assert!(like("a*b*c", "aXbYbZc"));
    }

    #[test]
    fn variables_and_escapes() {
        assert!(like("home/${aws:username}/*", "home/alice/x"));
        assert!(!like("home/${aws:username}/*", "home/bob/x"));
        assert!(!like("${aws:userid}", ""));
        assert!(like("${aws:userid, 'nobody'}", "nobody"));
        assert!(like("a${*}b", "a*b"));
        assert!(!like("a${*}b", "axb"));
        assert!(Pattern::parse("${?}", true, false).equals("?", false, &Vars));
        // Version 2008-10-17 has no variables: the text is taken as written.
        assert!(Pattern::parse("${aws:username}", false, false).equals(
            "${aws:username}",
            false,
            &Vars
        ));
    }

    #[test]
    fn arns_match_part_by_part() {
        let queue = "arn:aws:sqs:us-east-1:123456789012:orders";
        assert!(arn_like("arn:aws:sqs:*:123456789012:*", queue));
        assert!(arn_like("arn:aws:sqs:us-east-?:*:ord*", queue));
        assert!(!arn_like("arn:aws:sqs:*:111122223333:*", queue));
        // A wildcard stays within its part.
        assert!(!arn_like("arn:aws:*:orders", queue));
        assert!(arn_like("*", queue));
        assert!(arn_like(
            "arn:aws:iam::*:user/*",
            "arn:aws:iam::123456789012:user/division/alice"
        ));
    }

    #[test]
    fn case() {
        let action = Pattern::parse("SQS:Send*", false, true);
        assert!(action.like("sqs:sendmessage", false, &Vars));
        assert!(Pattern::parse("Abc", false, false).equals("aBC", true, &Vars));
    }
}
