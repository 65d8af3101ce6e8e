//! Documents `Policy::parse` refuses, with IAM's wording, and the grammar each attachment point
//! allows.

use sluice_policy::{Effect, Grammar, Policy, Version};

fn error(text: &str, grammar: Grammar) -> String {
    match Policy::parse(text, grammar) {
        Ok(policy) => panic!("accepted {text}: {policy:?}"),
        Err(e) => e.message,
    }
}

fn statement(body: &str) -> String {
    format!(r#"{{"Version": "2012-10-17", "Statement": {body}}}"#)
}

#[test]
fn refused_documents() {
    use Grammar::*;
    let cases: &[(Grammar, String, &str)] = &[
        (Identity, "{not json".into(), "This policy contains invalid Json"),
        (Identity, "".into(), "This policy contains invalid Json"),
        (Identity, "[]".into(), "Syntax errors in policy."),
        (
            Identity,
            statement(r#"{"Action": "sqs:*", "Resource": "*"}"#),
            "Missing required field Effect",
        ),
        (
            Identity,
            statement(r#"{"Effect": "Permit", "Action": "sqs:*", "Resource": "*"}"#),
            "Invalid effect: Permit",
        ),
        (
            Identity,
            statement(
                r#"{"Effect": "Allow", "Action": "sqs:*", "NotAction": "sns:*", "Resource": "*"}"#,
            ),
            "Syntax errors in policy.",
        ),
        (
            Identity,
            statement(r#"{"Effect": "Allow", "Resource": "*"}"#),
            "Policy statement must contain actions.",
        ),
        (
            Identity,
            statement(
                r#"{"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "NotResource": "*"}"#,
            ),
            "Syntax errors in policy.",
        ),
        (
            Identity,
            statement(r#"{"Effect": "Allow", "Action": "sqs:*"}"#),
            "Policy statement must contain resources.",
        ),
        (
            Identity,
            statement(r#"{"Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Resource": "*"}"#),
            "Has prohibited field Principal",
        ),
        (
            Identity,
            statement(
                r#"{"Effect": "Deny", "NotPrincipal": {"AWS": "123456789012"}, "Action": "sqs:*", "Resource": "*"}"#,
            ),
            "Has prohibited field NotPrincipal",
        ),
        (
            ServiceControl,
            statement(r#"{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}"#),
            "Has prohibited field Principal",
        ),
        (
            Resource,
            statement(r#"{"Effect": "Allow", "Action": "sqs:*"}"#),
            "Missing required field Principal",
        ),
        (
            Trust,
            statement(r#"{"Effect": "Allow", "Action": "sts:AssumeRole"}"#),
            "Missing required field Principal",
        ),
        (
            ResourceControl,
            statement(r#"{"Effect": "Deny", "Action": "*", "Resource": "*"}"#),
            "Missing required field Principal",
        ),
        (
            ResourceControl,
            statement(r#"{"Effect": "Deny", "Principal": "*", "Action": "*"}"#),
            "Policy statement must contain resources.",
        ),
        (
            Trust,
            statement(
                r#"{"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole", "Resource": "*"}"#,
            ),
            "Has prohibited field Resource",
        ),
        (
            Identity,
            statement(
                r#"{"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "Condition": {"StringEqualz": {"aws:username": "a"}}}"#,
            ),
            "Invalid Condition type : StringEqualz",
        ),
        (
            Identity,
            statement(
                r#"{"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "Condition": {"ForSomeValues:StringEquals": {"aws:TagKeys": "a"}}}"#,
            ),
            "Invalid Condition type : ForSomeValues:StringEquals",
        ),
        (
            Identity,
            statement(
                r#"{"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "Condition": {"NumericEquals": {"s3:max-keys": "ten"}}}"#,
            ),
            "Invalid value for condition operator NumericEquals: ten",
        ),
        (
            Identity,
            statement(
                r#"{"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "Condition": {"NumericLessThanIfExists": {"s3:max-keys": ["1", "x"]}}}"#,
            ),
            "Invalid value for condition operator NumericLessThanIfExists: x",
        ),
        (
            Identity,
            statement(
                r#"{"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/33"}}}"#,
            ),
            "Invalid value for condition operator IpAddress: 10.0.0.0/33",
        ),
        (
            Identity,
            statement(
                r#"{"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "Condition": {"NotIpAddress": {"aws:SourceIp": "300.1.2.3/8"}}}"#,
            ),
            "Invalid value for condition operator NotIpAddress: 300.1.2.3/8",
        ),
        (
            Identity,
            statement(
                r#"{"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "2001:db8::/129"}}}"#,
            ),
            "Invalid value for condition operator IpAddress: 2001:db8::/129",
        ),
        (
            Identity,
            statement(
                r#"{"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "Condition": {"IpAddress": {"aws:SourceIp": "office"}}}"#,
            ),
            "Invalid value for condition operator IpAddress: office",
        ),
        (
            Identity,
            statement(
                r#"{"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "Condition": {"DateLessThan": {"aws:CurrentTime": "tomorrow"}}}"#,
            ),
            "Invalid value for condition operator DateLessThan: tomorrow",
        ),
        (
            Identity,
            statement(
                r#"{"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "yes"}}}"#,
            ),
            "Invalid value for condition operator Bool: yes",
        ),
        (
            Identity,
            statement(
                r#"[{"Sid": "One", "Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
                    {"Sid": "One", "Effect": "Deny", "Action": "sns:*", "Resource": "*"}]"#,
            ),
            "Statement IDs (SID) in a single policy must be unique.",
        ),
        (
            Identity,
            statement(r#"{"Effect": "Allow", "Action": "SendMessage", "Resource": "*"}"#),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (
            Identity,
            statement(r#"{"Effect": "Allow", "Action": "sq*", "Resource": "*"}"#),
            "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
        ),
        (
            Identity,
            statement(r#"{"Effect": "Allow", "Action": "sqs:*", "Resource": "orders"}"#),
            "Resource orders must be in ARN format or \"*\".",
        ),
        (
            Identity,
            statement(r#"{"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "Extra": 1}"#),
            "Unknown field Extra",
        ),
        (
            Resource,
            statement(r#"{"Effect": "Allow", "Principal": {"AWS": "alice"}, "Action": "sqs:*"}"#),
            "Invalid principal in policy: \"AWS\":[\"alice\"]",
        ),
        (
            Resource,
            statement(
                r#"{"Effect": "Allow", "Principal": {"Group": "admins"}, "Action": "sqs:*"}"#,
            ),
            "Invalid principal in policy: \"Group\":[\"admins\"]",
        ),
        (
            Identity,
            r#"{"Version": "2020-01-01", "Statement": {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}}"#.into(),
            "The policy failed legacy parsing",
        ),
        (
            Identity,
            r#"{"Version": "2012-10-17", "Statement": []}"#.into(),
            "Syntax errors in policy.",
        ),
        (
            Identity,
            r#"{"Version": "2012-10-17"}"#.into(),
            "Syntax errors in policy.",
        ),
        (
            Identity,
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}, "Other": 1}"#.into(),
            "Syntax errors in policy.",
        ),
    ];
    let mut failures = Vec::new();
    for (grammar, text, expected) in cases {
        let got = error(text, *grammar);
        if got != *expected {
            failures.push(format!(
                "{grammar:?} {text}\n  expected {expected}\n  got {got}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn accepted_documents() {
    use Grammar::*;
    let cases: &[(Grammar, &str)] = &[
        (
            Identity,
            r#"{"Version": "2012-10-17", "Id": "x", "Statement": {"Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"], "Resource": ["arn:aws:sqs:*:123456789012:*"]}}"#,
        ),
        (
            Identity,
            r#"{"Statement": [{"Effect": "Deny", "NotAction": "sqs:*", "NotResource": "arn:aws:sqs:*:*:*"}]}"#,
        ),
        (
            Resource,
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"AWS": ["123456789012", "arn:aws:iam::123456789012:user/a", "arn:aws:iam::123456789012:role/r", "arn:aws:sts::123456789012:assumed-role/r/s"]}, "Action": "sqs:*"}}"#,
        ),
        (
            Resource,
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"Service": ["ecs.amazonaws.com", "elasticloadbalancing.amazonaws.com"]}, "Action": "sqs:*", "Resource": "arn:aws:sqs:us-east-1:123456789012:q"}}"#,
        ),
        (
            Trust,
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": {"AWS": "123456789012"}, "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "x"}}}}"#,
        ),
        (
            ServiceControl,
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}"#,
        ),
        (
            ResourceControl,
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}}"#,
        ),
        (
            Identity,
            r#"{"Version": "2012-10-17", "Statement": [
                {"Sid": "", "Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
                {"Sid": "", "Effect": "Allow", "Action": "sns:*", "Resource": "*"}]}"#,
        ),
        (
            Identity,
            r#"{"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "sqs:*", "Resource": "*", "Condition": {
                "NumericLessThanEquals": {"s3:max-keys": [10, "20.5"]},
                "DateGreaterThan": {"aws:CurrentTime": ["2020-01-01", "2020-01-01T00:00:00Z", "1577836800"]},
                "IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32", "192.0.2.1"]},
                "Bool": {"aws:SecureTransport": true},
                "Null": {"aws:RequestTag/x": "false"},
                "ForAllValues:StringLikeIfExists": {"aws:TagKeys": ["a*"]},
                "ForAnyValue:ArnNotLike": {"aws:SourceArn": "arn:aws:sns:*:*:*"}}}}"#,
        ),
    ];
    for (grammar, text) in cases {
        if let Err(e) = Policy::parse(text, *grammar) {
            panic!("{grammar:?} refused {text}: {e}");
        }
    }
}

#[test]
fn parsed_form() {
    let policy = Policy::parse(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Sid": "A", "Effect": "Allow", "Action": "SQS:Send*", "Resource": "*",
             "Condition": {"ForAnyValue:StringEqualsIfExists": {"AWS:TagKeys": "x"}}},
            {"Effect": "Deny", "Principal": {"AWS": "123456789012"}, "NotAction": "sqs:*"}]}"#,
        Grammar::Resource,
    );
    let error = policy.unwrap_err();
    assert_eq!(error.message, "Missing required field Principal");

    let policy = Policy::parse(
        r#"{"Version": "2012-10-17", "Statement": [
            {"Sid": "A", "Effect": "Allow", "Principal": "*", "Action": "SQS:Send*",
             "Condition": {"ForAnyValue:StringEqualsIfExists": {"AWS:TagKeys": "x"}}},
            {"Effect": "Deny", "NotPrincipal": {"AWS": "123456789012"}, "NotAction": "sqs:*",
             "Resource": "arn:aws:sqs:*:*:*"}]}"#,
        Grammar::Resource,
    )
    .unwrap();
    assert_eq!(policy.version, Version::V2012_10_17);
    let [first, second] = policy.statements.as_slice() else {
        panic!("{policy:?}");
    };
    assert_eq!(first.sid.as_deref(), Some("A"));
    assert_eq!(first.effect, Effect::Allow);
    assert!(first.principals.as_ref().unwrap().everyone);
    assert!(first.resources.is_none());
    assert!(!first.not_action);
    let condition = &first.conditions[0];
    assert_eq!(condition.key, "aws:tagkeys");
    assert!(condition.if_exists);
    assert_eq!(
        condition.qualifier,
        Some(sluice_policy::Qualifier::ForAnyValue)
    );
    assert_eq!(condition.operator, sluice_policy::Operator::StringEquals);

    assert_eq!(second.effect, Effect::Deny);
    let principals = second.principals.as_ref().unwrap();
    assert!(principals.negated);
    assert_eq!(principals.aws, vec!["arn:aws:iam::123456789012:root"]);
    assert!(second.not_action);
    assert_eq!(second.resources.as_ref().map(Vec::len), Some(1));

    let old = Policy::parse(
        r#"{"Statement": {"Effect": "Allow", "Action": "sqs:*", "Resource": "*"}}"#,
        Grammar::Identity,
    )
    .unwrap();
    assert_eq!(old.version, Version::V2008_10_17);
}
