//! The decoded Query parameters of an IAM or STS action, read and checked against the models'
//! constraints with the Query API's wording.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::error::SecurityError;

pub struct Params<'a>(pub &'a BTreeMap<String, String>);

impl<'a> Params<'a> {
    pub fn opt(&self, member: &str) -> Option<&'a str> {
        self.0.get(member).map(String::as_str)
    }

    pub fn req(&self, member: &str) -> Result<&'a str, SecurityError> {
        self.opt(member)
            .ok_or_else(|| SecurityError::missing(member))
    }

    /// A member of the model's `[\w+=,.@-]+` names (users, groups, roles, policies).
    pub fn name(&self, member: &str, max: usize) -> Result<&'a str, SecurityError> {
        let value = self.req(member)?;
        check_name(member, value, 1, max)?;
        Ok(value)
    }

    pub fn opt_name(&self, member: &str, max: usize) -> Result<Option<&'a str>, SecurityError> {
        let Some(value) = self.opt(member) else {
            return Ok(None);
        };
        check_name(member, value, 1, max)?;
        Ok(Some(value))
    }

    pub fn int(&self, member: &str) -> Result<Option<i64>, SecurityError> {
        self.opt(member)
            .map(|v| {
                v.trim()
                    .parse::<i64>()
                    .map_err(|_| SecurityError::constraint(member, v, "Member must be a number"))
            })
            .transpose()
    }

    pub fn bool(&self, member: &str) -> Option<bool> {
        self.opt(member).map(|v| v.eq_ignore_ascii_case("true"))
    }

    /// The path of a new entity, `/` when absent.
    pub fn path(&self) -> Result<&'a str, SecurityError> {
        let path = self.opt("Path").unwrap_or("/");
        check_path(path)?;
        Ok(path)
    }

    /// A list member written `<member>.member.N[.<field>]`, in the order of N.
    pub fn list(&self, member: &str, field: Option<&str>) -> Vec<&'a str> {
        let prefix = format!("{member}.member.");
        let mut entries: Vec<(u32, &str)> = self
            .0
            .range(prefix.clone()..)
            .take_while(|(k, _)| k.starts_with(&prefix))
            .filter_map(|(k, v)| {
                let rest = &k[prefix.len()..];
                let index = match field {
                    Some(field) => rest.strip_suffix(field)?.strip_suffix('.')?,
                    None => rest,
                };
                Some((index.parse().ok()?, v.as_str()))
            })
            .collect();
        entries.sort_by_key(|(index, _)| *index);
        entries.into_iter().map(|(_, v)| v).collect()
    }

    /// `Tags.member.N.Key` / `.Value`, checked as IAM and STS check tags.
    pub fn tags(&self) -> Result<Vec<(String, String)>, SecurityError> {
        let prefix = "Tags.member.";
        let mut tags: BTreeMap<u32, (Option<&str>, Option<&str>)> = BTreeMap::new();
        for (key, value) in self
            .0
            .range(prefix.to_string()..)
            .take_while(|(k, _)| k.starts_with(prefix))
        {
            let rest = &key[prefix.len()..];
            let Some((index, field)) = rest.split_once('.') else {
                continue;
            };
            let Ok(index) = index.parse() else { continue };
            let entry = tags.entry(index).or_default();
            match field {
                "Key" => entry.0 = Some(value),
                "Value" => entry.1 = Some(value),
                _ => {}
            }
        }
        if tags.len() > 50 {
            return Err(SecurityError::constraint(
                "Tags",
                "[...]",
                "Member must have length less than or equal to 50",
            ));
        }
        let mut out: Vec<(String, String)> = Vec::with_capacity(tags.len());
        for (key, value) in tags.into_values() {
            let key = key.ok_or_else(|| SecurityError::missing("tags.member.key"))?;
            let value = value.ok_or_else(|| SecurityError::missing("tags.member.value"))?;
            if key.is_empty() || key.chars().count() > 128 {
                return Err(SecurityError::constraint(
                    "tags.member.key",
                    key,
                    "Member must have length less than or equal to 128",
                ));
            }
            if value.chars().count() > 256 {
                return Err(SecurityError::constraint(
                    "tags.member.value",
                    value,
                    "Member must have length less than or equal to 256",
                ));
            }
            if out.iter().any(|(k, _)| k.eq_ignore_ascii_case(key)) {
                return Err(SecurityError::invalid_input(
                    "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
                ));
            }
            out.push((key.to_string(), value.to_string()));
        }
        Ok(out)
    }

    /// `Marker` and `MaxItems` (1..1000, 100 when absent).
    pub fn page(&self) -> Result<Page<'a>, SecurityError> {
        let max_items = match self.int("MaxItems")? {
            None => 100,
            Some(n) if (1..=1000).contains(&n) => n as usize,
            Some(n) => {
                return Err(SecurityError::constraint(
                    "MaxItems",
                    &n.to_string(),
                    if n < 1 {
                        "Member must have value greater than or equal to 1"
                    } else {
                        "Member must have value less than or equal to 1000"
                    },
                ))
            }
        };
        Ok(Page {
            marker: self.opt("Marker"),
            max_items,
        })
    }
}

pub fn check_name(member: &str, value: &str, min: usize, max: usize) -> Result<(), SecurityError> {
    let len = value.chars().count();
    if len < min {
        return Err(SecurityError::constraint(
            member,
            value,
            &format!("Member must have length greater than or equal to {min}"),
        ));
    }
    if len > max {
        return Err(SecurityError::constraint(
            member,
            value,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
    {
        return Err(SecurityError::constraint(
            member,
            value,
            "Member must satisfy regular expression pattern: [\\w+=,.@-]+",
        ));
    }
    Ok(())
}

/// `/` or `/…/` of printable ASCII, at most 512 characters.
pub fn check_path(path: &str) -> Result<(), SecurityError> {
    let valid = path.len() <= 512
        && path.starts_with('/')
        && path.ends_with('/')
        && path.bytes().all(|b| (0x21..=0x7e).contains(&b));
    if valid {
        Ok(())
    } else {
        Err(SecurityError::validation(
            "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.",
        ))
    }
}

pub struct Page<'a> {
    marker: Option<&'a str>,
    max_items: usize,
}

impl Page<'_> {
    /// One page of items in key order; the marker of the next page is the key of its first item.
    pub fn take<T>(&self, items: Vec<(String, T)>) -> (Vec<T>, Option<String>) {
        let mut rest = items
            .into_iter()
            .skip_while(|(key, _)| self.marker.is_some_and(|m| key.as_str() < m));
        let page: Vec<T> = rest
            .by_ref()
            .take(self.max_items)
            .map(|(_, item)| item)
            .collect();
        (page, rest.next().map(|(key, _)| key))
    }

    /// The page as a List* output: the items under `member`, `IsTruncated` and `Marker`.
    pub fn output(&self, member: &str, items: Vec<(String, Value)>) -> Value {
        let (page, next) = self.take(items);
        let mut out = json!({ member: page, "IsTruncated": next.is_some() });
        if let Some(next) = next {
            out["Marker"] = Value::String(next);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn lists_follow_member_indexes() {
        let map = params(&[
            ("PolicyArns.member.2.arn", "b"),
            ("PolicyArns.member.10.arn", "c"),
            ("PolicyArns.member.1.arn", "a"),
        ]);
        assert_eq!(
            Params(&map).list("PolicyArns", Some("arn")),
            ["a", "b", "c"]
        );
    }

    #[test]
    fn tags_pair_keys_with_values() {
        let map = params(&[
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "blue"),
            ("Tags.member.2.Key", "TEAM"),
            ("Tags.member.2.Value", "red"),
        ]);
        assert_eq!(Params(&map).tags().unwrap_err().code, "InvalidInput");
    }

    #[test]
    fn names_follow_the_model_pattern() {
        assert!(check_name("UserName", "a+b=c,d.e@f-g_h", 1, 64).is_ok());
        let error = check_name("UserName", "a b", 1, 64).unwrap_err();
        assert_eq!(
            error.message,
            "1 validation error detected: Value 'a b' at 'userName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        );
        assert!(check_path("/a/b/").is_ok());
        assert!(check_path("a/").is_err());
    }

    #[test]
    fn pages_continue_at_the_marker() {
        let map = params(&[("MaxItems", "2")]);
        let page = Params(&map).page().unwrap();
        let items: Vec<(String, u32)> = (1..=3).map(|i| (format!("k{i}"), i)).collect();
        let (first, next) = page.take(items.clone());
        assert_eq!((first, next.as_deref()), (vec![1, 2], Some("k3")));
        let map = params(&[("MaxItems", "2"), ("Marker", "k3")]);
        let (second, next) = Params(&map).page().unwrap().take(items);
        assert_eq!((second, next), (vec![3], None));
    }
}
