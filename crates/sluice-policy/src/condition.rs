//! Condition operators (IAM User Guide, "IAM JSON policy elements: Condition operators"), each read
//! once from a document with its values in their own type (numbers, instants, CIDR blocks), and
//! evaluated against the request's values of a key.
//!
//! A key the request lacks: a positive operator does not hold, a negated one (`StringNotEquals`,
//! `NotIpAddress`, …) holds, and any operator ending in `IfExists` holds. With several values in the
//! request, an unqualified positive operator holds when any value matches and a negated one when
//! none does; `ForAnyValue:` holds when some value satisfies the operator and `ForAllValues:` when
//! every value does (so also when there is none).

use std::net::IpAddr;

use serde_json::Value;
use sluice_model::Utc;

use crate::facts::{Facts, Values, VariableScope};
use crate::pattern::{Arn, Pattern};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operator {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

const OPERATORS: &[(&str, Operator)] = &[
    ("StringEquals", Operator::StringEquals),
    ("StringNotEquals", Operator::StringNotEquals),
    ("StringEqualsIgnoreCase", Operator::StringEqualsIgnoreCase),
    (
        "StringNotEqualsIgnoreCase",
        Operator::StringNotEqualsIgnoreCase,
    ),
    ("StringLike", Operator::StringLike),
    ("StringNotLike", Operator::StringNotLike),
    ("NumericEquals", Operator::NumericEquals),
    ("NumericNotEquals", Operator::NumericNotEquals),
    ("NumericLessThan", Operator::NumericLessThan),
    ("NumericLessThanEquals", Operator::NumericLessThanEquals),
    ("NumericGreaterThan", Operator::NumericGreaterThan),
    (
        "NumericGreaterThanEquals",
        Operator::NumericGreaterThanEquals,
    ),
    ("DateEquals", Operator::DateEquals),
    ("DateNotEquals", Operator::DateNotEquals),
    ("DateLessThan", Operator::DateLessThan),
    ("DateLessThanEquals", Operator::DateLessThanEquals),
    ("DateGreaterThan", Operator::DateGreaterThan),
    ("DateGreaterThanEquals", Operator::DateGreaterThanEquals),
    ("Bool", Operator::Bool),
    ("BinaryEquals", Operator::BinaryEquals),
    ("IpAddress", Operator::IpAddress),
    ("NotIpAddress", Operator::NotIpAddress),
    ("ArnEquals", Operator::ArnEquals),
    ("ArnLike", Operator::ArnLike),
    ("ArnNotEquals", Operator::ArnNotEquals),
    ("ArnNotLike", Operator::ArnNotLike),
    ("Null", Operator::Null),
];

impl Operator {
    fn negated(self) -> bool {
        use Operator as O;
        matches!(
            self,
            O::StringNotEquals
                | O::StringNotEqualsIgnoreCase
                | O::StringNotLike
                | O::NumericNotEquals
                | O::DateNotEquals
                | O::NotIpAddress
                | O::ArnNotEquals
                | O::ArnNotLike
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Qualifier {
    ForAllValues,
    ForAnyValue,
}

/// The values a condition compares with, in the type its operator reads.
#[derive(Clone, Debug, PartialEq)]
enum Expected {
    Text(Vec<Pattern>),
    Number(Vec<f64>),
    /// Epoch milliseconds.
    Instant(Vec<i64>),
    Cidr(Vec<(IpAddr, u8)>),
    Flag(Vec<bool>),
}

/// One key under one operator.
#[derive(Clone, Debug, PartialEq)]
pub struct Condition {
    pub qualifier: Option<Qualifier>,
    pub operator: Operator,
    pub if_exists: bool,
    /// The condition key, lowercase (keys are case-insensitive).
    pub key: String,
    expected: Expected,
}

impl Condition {
    /// Reads `operator: {key: values}` entries; `Err` carries IAM's wording.
    pub(crate) fn parse(
        operator_text: &str,
        key: &str,
        values: &Value,
        variables: bool,
    ) -> Result<Condition, String> {
        let (qualifier, base) = match operator_text.split_once(':') {
            Some(("ForAllValues", base)) => (Some(Qualifier::ForAllValues), base),
            Some(("ForAnyValue", base)) => (Some(Qualifier::ForAnyValue), base),
            Some(_) => return Err(invalid_operator(operator_text)),
            None => (None, operator_text),
        };
        let (base, if_exists) = match base.strip_suffix("IfExists") {
            Some(base) if base != "Null" => (base, true),
            _ => (base, false),
        };
        let operator = OPERATORS
            .iter()
            .find(|(name, _)| *name == base)
            .map(|(_, op)| *op)
            .ok_or_else(|| invalid_operator(operator_text))?;
        let texts = scalars(values).ok_or_else(|| "Syntax errors in policy.".to_string())?;
        let bad =
            |value: &str| format!("Invalid value for condition operator {operator_text}: {value}");
        use Operator as O;
        let expected = match operator {
            O::NumericEquals
            | O::NumericNotEquals
            | O::NumericLessThan
            | O::NumericLessThanEquals
            | O::NumericGreaterThan
            | O::NumericGreaterThanEquals => Expected::Number(
                texts
                    .iter()
                    .map(|t| parse_number(t).ok_or_else(|| bad(t)))
                    .collect::<Result<_, _>>()?,
            ),
            O::DateEquals
            | O::DateNotEquals
            | O::DateLessThan
            | O::DateLessThanEquals
            | O::DateGreaterThan
            | O::DateGreaterThanEquals => Expected::Instant(
                texts
                    .iter()
                    .map(|t| parse_instant(t).ok_or_else(|| bad(t)))
                    .collect::<Result<_, _>>()?,
            ),
            O::IpAddress | O::NotIpAddress => Expected::Cidr(
                texts
                    .iter()
                    .map(|t| parse_cidr(t).ok_or_else(|| bad(t)))
                    .collect::<Result<_, _>>()?,
            ),
            O::Bool | O::Null => Expected::Flag(
                texts
                    .iter()
                    .map(|t| match t.to_ascii_lowercase().as_str() {
                        "true" => Ok(true),
                        "false" => Ok(false),
                        _ => Err(bad(t)),
                    })
                    .collect::<Result<_, _>>()?,
            ),
            _ => Expected::Text(
                texts
                    .iter()
                    .map(|t| Pattern::parse(t, variables, false))
                    .collect(),
            ),
        };
        Ok(Condition {
            qualifier,
            operator,
            if_exists,
            key: key.to_ascii_lowercase(),
            expected,
        })
    }

    /// Whether the condition holds for the request; `identity` says whether an identity policy is
    /// asking (only those see `aws:ResourceTag`).
    pub(crate) fn holds(&self, facts: &Facts<'_>, identity: bool) -> bool {
        if self.operator == Operator::Null {
            let Expected::Flag(expected) = &self.expected else {
                return false;
            };
            let absent = facts
                .values(&self.key, identity)
                .is_none_or(|values| values.as_slice().is_empty());
            return expected.contains(&absent);
        }
        // The time keys and the source address are compared as what they are, not as text.
        match &self.expected {
            Expected::Instant(expected) => {
                if let Some(actual) = facts.instant(&self.key) {
                    let matched =
                        actual.map(|a| expected.iter().any(|e| compare(self.operator, a, *e)));
                    return self.conclude(matched.into_iter(), matched.is_some());
                }
            }
            Expected::Cidr(blocks) if self.key == "aws:sourceip" => {
                let matched = facts
                    .source_ip
                    .map(|a| blocks.iter().any(|block| contains(*block, a)));
                return self.conclude(matched.into_iter(), matched.is_some());
            }
            _ => {}
        }
        let values = facts.values(&self.key, identity);
        let values = values.as_ref().map_or(&[][..], Values::as_slice);
        let scope = VariableScope { facts, identity };
        self.conclude(
            values.iter().map(|v| self.matches(v, &scope)),
            !values.is_empty(),
        )
    }

    /// The condition's outcome from whether each of the request's values matches (for the
    /// operator's positive form); `present` says whether the request has the key at all.
    fn conclude(&self, mut matches: impl Iterator<Item = bool>, present: bool) -> bool {
        let negated = self.operator.negated();
        match (self.qualifier, present) {
            (Some(Qualifier::ForAllValues), false) => true,
            (_, false) => self.if_exists || (self.qualifier.is_none() && negated),
            (Some(Qualifier::ForAllValues), true) => matches.all(|m| m != negated),
            (Some(Qualifier::ForAnyValue), true) => matches.any(|m| m != negated),
            (None, true) => matches.any(|m| m) != negated,
        }
    }

    /// Whether one request value matches one of the expected values, for the operator's positive
    /// form (`StringNotEquals` asks as `StringEquals` does, and negates).
    fn matches(&self, actual: &str, scope: &VariableScope<'_, '_>) -> bool {
        use Operator as O;
        match &self.expected {
            Expected::Text(patterns) => patterns.iter().any(|p| match self.operator {
                O::StringEquals | O::StringNotEquals | O::BinaryEquals => {
                    p.equals(actual, false, scope)
                }
                O::StringEqualsIgnoreCase | O::StringNotEqualsIgnoreCase => {
                    p.equals(actual, true, scope)
                }
                O::StringLike | O::StringNotLike => p.like(actual, false, scope),
                _ => p.arn_like(&Arn::split(actual), scope),
            }),
            Expected::Number(expected) => {
                let Some(actual) = parse_number(actual) else {
                    return false;
                };
                expected.iter().any(|e| compare(self.operator, actual, *e))
            }
            Expected::Instant(expected) => {
                let Some(actual) = parse_instant(actual) else {
                    return false;
                };
                expected.iter().any(|e| compare(self.operator, actual, *e))
            }
            Expected::Cidr(blocks) => {
                let Ok(actual) = actual.parse::<IpAddr>() else {
                    return false;
                };
                blocks.iter().any(|block| contains(*block, actual))
            }
            Expected::Flag(expected) => {
                let actual = actual.eq_ignore_ascii_case("true");
                expected.contains(&actual)
            }
        }
    }
}

fn invalid_operator(operator: &str) -> String {
    format!("Invalid Condition type : {operator}")
}

/// A string, number or boolean, or a non-empty list of them, as text.
fn scalars(value: &Value) -> Option<Vec<String>> {
    let text = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match value {
        Value::Array(list) if !list.is_empty() => list.iter().map(text).collect(),
        Value::Array(_) => None,
        other => text(other).map(|t| vec![t]),
    }
}

/// A decimal number as policies write them (`-12`, `3.5`): no exponent, infinity or NaN.
fn parse_number(text: &str) -> Option<f64> {
    let text = text.trim();
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, ""));
    let decimal = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    (!whole.is_empty() && decimal(whole) && decimal(fraction))
        .then(|| text.parse().ok())
        .flatten()
}

fn compare<T: PartialOrd>(operator: Operator, actual: T, expected: T) -> bool {
    use Operator as O;
    match operator {
        O::NumericLessThan | O::DateLessThan => actual < expected,
        O::NumericLessThanEquals | O::DateLessThanEquals => actual <= expected,
        O::NumericGreaterThan | O::DateGreaterThan => actual > expected,
        O::NumericGreaterThanEquals | O::DateGreaterThanEquals => actual >= expected,
        _ => actual == expected,
    }
}

/// An instant as epoch milliseconds: epoch seconds, or ISO 8601 (`2026-12-04`,
/// `2026-12-04T07:30:00Z`, with fractions of a second or a `+hh:mm` offset).
pub(crate) fn parse_instant(text: &str) -> Option<i64> {
    let text = text.trim();
    if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse::<i64>().ok()?.checked_mul(1000);
    }
    let number = |s: &str| -> Option<i64> {
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    let (date, time) = match text.split_once(['T', 't']) {
        Some((date, time)) => (date, Some(time)),
        None => (text, None),
    };
    let mut ymd = date.split('-');
    let (Some(year), Some(month), Some(day), None) =
        (ymd.next(), ymd.next(), ymd.next(), ymd.next())
    else {
        return None;
    };
    let (year, month, day) = (number(year)?, number(month)?, number(day)?);
    // ISO 8601 writes the year in four digits; a longer one would overflow the day count below.
    if !(0..=9999).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let (mut hour, mut minute, mut second, mut millis, mut offset) = (0, 0, 0, 0, 0);
    if let Some(time) = time {
        let (clock, zone) = match time.find(['Z', 'z', '+', '-']) {
            Some(at) => time.split_at(at),
            None => (time, ""),
        };
        offset = match zone {
            "" | "Z" | "z" => 0,
            zone => {
                let sign = if zone.starts_with('-') { -1 } else { 1 };
                let (h, m) = zone[1..].split_once(':').unwrap_or((&zone[1..], "0"));
                let (h, m) = (number(h)?, number(m)?);
                if h > 23 || m > 59 {
                    return None;
                }
                sign * (h * 3600 + m * 60)
            }
        };
        let (clock, fraction) = clock.split_once('.').unwrap_or((clock, ""));
        let mut hms = clock.split(':');
        hour = number(hms.next()?)?;
        minute = number(hms.next()?)?;
        second = hms.next().map(number).unwrap_or(Some(0))?;
        if hms.next().is_some() || hour > 23 || minute > 59 || second > 60 {
            return None;
        }
        if !fraction.is_empty() {
            let digits: String = fraction.chars().chain("000".chars()).take(3).collect();
            millis = number(&digits)?;
        }
    }
    let epoch = Utc(year, month, day, hour, minute, second).to_epoch() - offset;
    Some(epoch * 1000 + millis)
}

/// `10.0.0.0/8`, `2001:db8::/32`, or an address alone (all of its bits).
fn parse_cidr(text: &str) -> Option<(IpAddr, u8)> {
    let (address, bits) = match text.trim().split_once('/') {
        Some((address, bits)) => (address, Some(bits)),
        None => (text.trim(), None),
    };
    let address: IpAddr = address.parse().ok()?;
    let width = if address.is_ipv4() { 32 } else { 128 };
    let bits = match bits {
        Some(bits) => bits.parse::<u8>().ok().filter(|b| *b <= width)?,
        None => width,
    };
    Some((address, bits))
}

fn contains((network, bits): (IpAddr, u8), address: IpAddr) -> bool {
    let (network, address, width) = match (network, address) {
        (IpAddr::V4(n), IpAddr::V4(a)) => (u128::from(n.to_bits()), u128::from(a.to_bits()), 32),
        (IpAddr::V6(n), IpAddr::V6(a)) => (n.to_bits(), a.to_bits(), 128),
        (IpAddr::V4(n), IpAddr::V6(a)) => match a.to_ipv4_mapped() {
            Some(a) => (u128::from(n.to_bits()), u128::from(a.to_bits()), 32),
            None => return false,
        },
        (IpAddr::V6(_), IpAddr::V4(_)) => return false,
    };
    if bits == 0 {
        return true;
    }
    let shift = width - u32::from(bits);
    (network >> shift) == (address >> shift)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants() {
        assert_eq!(parse_instant("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_instant("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_instant("86400"), Some(86_400_000));
        assert_eq!(parse_instant("1970-01-01T01:00:00+01:00"), Some(0));
        assert_eq!(parse_instant("1970-01-01T00:00:01.5Z"), Some(1500));
        assert_eq!(parse_instant("1111222030-01-01T00:00:00Z"), None);
        assert_eq!(parse_instant("2030-01-01T00:00:00+99999999999999:00"), None);
        assert_eq!(
            parse_instant("9999-12-31T23:59:59-23:59").map(|ms| ms > 0),
            Some(true)
        );
        assert_eq!(parse_instant("2026-13-01"), None);
        assert_eq!(parse_instant("soon"), None);
    }

    #[test]
    fn cidr_blocks() {
        let block = parse_cidr("203.0.113.0/24").unwrap();
        assert!(contains(block, "203.0.113.77".parse().unwrap()));
        assert!(!contains(block, "203.0.114.1".parse().unwrap()));
        assert!(contains(block, "::ffff:203.0.113.9".parse().unwrap()));
        let v6 = parse_cidr("2001:db8::/32").unwrap();
        assert!(contains(v6, "2001:db8:1::5".parse().unwrap()));
        assert!(!contains(v6, "2001:db9::".parse().unwrap()));
        assert!(contains(
            parse_cidr("0.0.0.0/0").unwrap(),
            "8.8.8.8".parse().unwrap()
        ));
        assert_eq!(parse_cidr("10.0.0.0/33"), None);
    }
}
