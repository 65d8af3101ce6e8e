//! Condition operators, each with a case where it holds, one where it does not, the request lacking
//! the key, and its `…IfExists` form.

mod common;

use common::cases::*;
use common::*;

#[test]
fn string_operators() {
    run(&[
        // StringEquals: case-sensitive, any of several values; key names are case-insensitive.
        case(r#"{"StringEquals": {"aws:username": "alice"}}"#, none, true),
        case(r#"{"StringEquals": {"AWS:UserName": "alice"}}"#, none, true),
        case(
            r#"{"StringEquals": {"aws:username": ["bob", "alice"]}}"#,
            none,
            true,
        ),
        case(
            r#"{"StringEquals": {"aws:username": "Alice"}}"#,
            none,
            false,
        ),
        case(r#"{"StringEquals": {"aws:username": "al*"}}"#, none, false),
        case(
            r#"{"StringEquals": {"aws:username": "alice"}}"#,
            as_session,
            false,
        ),
        case(
            r#"{"StringEquals": {"aws:PrincipalAccount": "123456789012"}}"#,
            none,
            true,
        ),
        case(
            r#"{"StringEquals": {"aws:PrincipalAccount": "444455556666"}}"#,
            none,
            false,
        ),
        case(
            r#"{"StringEquals": {"aws:RequestTag/team": "red"}}"#,
            none,
            false,
        ),
        case(
            r#"{"StringEquals": {"aws:RequestTag/team": "red"}}"#,
            |e| {
                e.request_tag("team", "red");
            },
            true,
        ),
        case(
            r#"{"StringEqualsIfExists": {"aws:RequestTag/team": "red"}}"#,
            none,
            true,
        ),
        case(
            r#"{"StringEqualsIfExists": {"aws:RequestTag/team": "red"}}"#,
            |e| {
                e.request_tag("team", "red");
            },
            true,
        ),
        case(
            r#"{"StringEqualsIfExists": {"aws:RequestTag/team": "red"}}"#,
            |e| {
                e.request_tag("team", "blue");
            },
            false,
        ),
        // StringNotEquals: holds when no value matches, and when the key is absent.
        case(
            r#"{"StringNotEquals": {"aws:username": "bob"}}"#,
            none,
            true,
        ),
        case(
            r#"{"StringNotEquals": {"aws:username": "alice"}}"#,
            none,
            false,
        ),
        case(
            r#"{"StringNotEquals": {"aws:username": ["bob", "alice"]}}"#,
            none,
            false,
        ),
        case(
            r#"{"StringNotEquals": {"aws:username": "Alice"}}"#,
            none,
            true,
        ),
        case(
            r#"{"StringNotEquals": {"aws:username": "alice"}}"#,
            as_session,
            true,
        ),
        case(
            r#"{"StringNotEqualsIfExists": {"aws:username": "alice"}}"#,
            as_session,
            true,
        ),
        case(
            r#"{"StringNotEqualsIfExists": {"aws:username": "alice"}}"#,
            none,
            false,
        ),
        case(
            r#"{"StringNotEqualsIfExists": {"aws:username": "bob"}}"#,
            none,
            true,
        ),
        // StringEqualsIgnoreCase.
        case(
            r#"{"StringEqualsIgnoreCase": {"aws:username": "ALICE"}}"#,
            none,
            true,
        ),
        case(
            r#"{"StringEqualsIgnoreCase": {"aws:username": "bob"}}"#,
            none,
            false,
        ),
        case(
            r#"{"StringEqualsIgnoreCase": {"aws:username": "alice"}}"#,
            as_session,
            false,
        ),
        case(
            r#"{"StringEqualsIgnoreCaseIfExists": {"aws:username": "alice"}}"#,
            as_session,
            true,
        ),
        case(
            r#"{"StringEqualsIgnoreCaseIfExists": {"aws:username": "BOB"}}"#,
            none,
            false,
        ),
        // StringNotEqualsIgnoreCase.
        case(
            r#"{"StringNotEqualsIgnoreCase": {"aws:username": "ALICE"}}"#,
            none,
            false,
        ),
        case(
            r#"{"StringNotEqualsIgnoreCase": {"aws:username": "bob"}}"#,
            none,
            true,
        ),
        case(
            r#"{"StringNotEqualsIgnoreCase": {"aws:username": "alice"}}"#,
            as_session,
            true,
        ),
        case(
            r#"{"StringNotEqualsIgnoreCaseIfExists": {"aws:username": "alice"}}"#,
            as_session,
            true,
        ),
        case(
            r#"{"StringNotEqualsIgnoreCaseIfExists": {"aws:username": "Alice"}}"#,
            none,
            false,
        ),
        // StringLike: `*` and `?`, case-sensitive.
        case(r#"{"StringLike": {"aws:username": "al*"}}"#, none, true),
        case(r#"{"StringLike": {"aws:username": "a?ice"}}"#, none, true),
        case(r#"{"StringLike": {"aws:username": "*"}}"#, none, true),
        case(r#"{"StringLike": {"aws:username": "b*"}}"#, none, false),
        case(r#"{"StringLike": {"aws:username": "AL*"}}"#, none, false),
        case(r#"{"StringLike": {"aws:username": "a?lice"}}"#, none, false),
        case(
            r#"{"StringLike": {"aws:username": "*"}}"#,
            as_session,
            false,
        ),
        case(
            r#"{"StringLikeIfExists": {"aws:username": "b*"}}"#,
            as_session,
            true,
        ),
        case(
            r#"{"StringLikeIfExists": {"aws:username": "b*"}}"#,
            none,
            false,
        ),
        // StringNotLike.
        case(r#"{"StringNotLike": {"aws:username": "b*"}}"#, none, true),
        case(r#"{"StringNotLike": {"aws:username": "al*"}}"#, none, false),
        case(
            r#"{"StringNotLike": {"aws:username": ["b*", "?lice"]}}"#,
            none,
            false,
        ),
        case(
            r#"{"StringNotLike": {"aws:username": "*"}}"#,
            as_session,
            true,
        ),
        case(
            r#"{"StringNotLikeIfExists": {"aws:username": "*"}}"#,
            as_session,
            true,
        ),
        case(
            r#"{"StringNotLikeIfExists": {"aws:username": "a*"}}"#,
            none,
            false,
        ),
    ]);
}

#[test]
fn numeric_operators() {
    fn ten(env: &mut Env) {
        env.service_key("s3:max-keys", "10");
    }
    run(&[
        case(r#"{"NumericEquals": {"s3:max-keys": "10"}}"#, ten, true),
        case(r#"{"NumericEquals": {"s3:max-keys": 10}}"#, ten, true),
        case(r#"{"NumericEquals": {"s3:max-keys": "10.0"}}"#, ten, true),
        case(
            r#"{"NumericEquals": {"s3:max-keys": ["5", "10"]}}"#,
            ten,
            true,
        ),
        case(r#"{"NumericEquals": {"s3:max-keys": "11"}}"#, ten, false),
        case(r#"{"NumericEquals": {"s3:max-keys": "10"}}"#, none, false),
        case(
            r#"{"NumericEquals": {"s3:max-keys": "10"}}"#,
            |e| {
                e.service_key("s3:max-keys", "ten");
            },
            false,
        ),
        case(
            r#"{"NumericEqualsIfExists": {"s3:max-keys": "10"}}"#,
            none,
            true,
        ),
        case(
            r#"{"NumericEqualsIfExists": {"s3:max-keys": "11"}}"#,
            ten,
            false,
        ),
        case(r#"{"NumericNotEquals": {"s3:max-keys": "11"}}"#, ten, true),
        case(r#"{"NumericNotEquals": {"s3:max-keys": "10"}}"#, ten, false),
        case(r#"{"NumericNotEquals": {"s3:max-keys": "10"}}"#, none, true),
        case(
            r#"{"NumericNotEqualsIfExists": {"s3:max-keys": "10"}}"#,
            none,
            true,
        ),
        case(
            r#"{"NumericNotEqualsIfExists": {"s3:max-keys": "10"}}"#,
            ten,
            false,
        ),
        case(r#"{"NumericLessThan": {"s3:max-keys": "11"}}"#, ten, true),
        case(r#"{"NumericLessThan": {"s3:max-keys": "10"}}"#, ten, false),
        case(r#"{"NumericLessThan": {"s3:max-keys": "11"}}"#, none, false),
        case(
            r#"{"NumericLessThanIfExists": {"s3:max-keys": "11"}}"#,
            none,
            true,
        ),
        case(
            r#"{"NumericLessThanIfExists": {"s3:max-keys": "10"}}"#,
            ten,
            false,
        ),
        case(
            r#"{"NumericLessThanEquals": {"s3:max-keys": "10"}}"#,
            ten,
            true,
        ),
        case(
            r#"{"NumericLessThanEquals": {"s3:max-keys": "9"}}"#,
            ten,
            false,
        ),
        case(
            r#"{"NumericLessThanEquals": {"s3:max-keys": "10"}}"#,
            none,
            false,
        ),
        case(
            r#"{"NumericLessThanEqualsIfExists": {"s3:max-keys": "9"}}"#,
            none,
            true,
        ),
        case(r#"{"NumericGreaterThan": {"s3:max-keys": "9"}}"#, ten, true),
        case(
            r#"{"NumericGreaterThan": {"s3:max-keys": "10"}}"#,
            ten,
            false,
        ),
        case(
            r#"{"NumericGreaterThan": {"s3:max-keys": "9"}}"#,
            none,
            false,
        ),
        case(
            r#"{"NumericGreaterThanIfExists": {"s3:max-keys": "9"}}"#,
            none,
            true,
        ),
        case(
            r#"{"NumericGreaterThanEquals": {"s3:max-keys": "10"}}"#,
            ten,
            true,
        ),
        case(
            r#"{"NumericGreaterThanEquals": {"s3:max-keys": "10.5"}}"#,
            ten,
            false,
        ),
        case(
            r#"{"NumericGreaterThanEquals": {"s3:max-keys": "10"}}"#,
            none,
            false,
        ),
        case(
            r#"{"NumericGreaterThanEqualsIfExists": {"s3:max-keys": "10"}}"#,
            none,
            true,
        ),
        case(
            r#"{"NumericGreaterThanEqualsIfExists": {"s3:max-keys": "11"}}"#,
            ten,
            false,
        ),
        // aws:EpochTime is a number too.
        case(
            r#"{"NumericGreaterThan": {"aws:EpochTime": "1767225599"}}"#,
            none,
            true,
        ),
        case(
            r#"{"NumericLessThan": {"aws:EpochTime": "1767225600"}}"#,
            none,
            false,
        ),
    ]);
}

#[test]
fn date_operators() {
    fn issued(env: &mut Env) {
        // Issued at 2025-12-31T23:50:00Z.
        env.principal = session(ACCOUNT, "app", "s1");
    }
    run(&[
        case(
            r#"{"DateEquals": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}}"#,
            none,
            true,
        ),
        case(
            r#"{"DateEquals": {"aws:CurrentTime": "2026-01-01"}}"#,
            none,
            true,
        ),
        case(
            r#"{"DateEquals": {"aws:CurrentTime": "1767225600"}}"#,
            none,
            true,
        ),
        case(
            r#"{"DateEquals": {"aws:CurrentTime": "2026-01-01T01:00:00+01:00"}}"#,
            none,
            true,
        ),
        case(
            r#"{"DateEquals": {"aws:CurrentTime": "2026-01-01T00:00:01Z"}}"#,
            none,
            false,
        ),
        case(
            r#"{"DateEquals": {"aws:TokenIssueTime": "2025-12-31T23:50:00Z"}}"#,
            none,
            false,
        ),
        case(
            r#"{"DateEquals": {"aws:TokenIssueTime": "2025-12-31T23:50:00Z"}}"#,
            issued,
            true,
        ),
        case(
            r#"{"DateEqualsIfExists": {"aws:TokenIssueTime": "2025-12-31T23:50:00Z"}}"#,
            none,
            true,
        ),
        case(
            r#"{"DateEqualsIfExists": {"aws:TokenIssueTime": "2025-12-31T23:51:00Z"}}"#,
            issued,
            false,
        ),
        case(
            r#"{"DateNotEquals": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}}"#,
            none,
            true,
        ),
        case(
            r#"{"DateNotEquals": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}}"#,
            none,
            false,
        ),
        case(
            r#"{"DateNotEquals": {"aws:TokenIssueTime": "2025-01-01"}}"#,
            none,
            true,
        ),
        case(
            r#"{"DateNotEqualsIfExists": {"aws:TokenIssueTime": "2025-12-31T23:50:00Z"}}"#,
            issued,
            false,
        ),
        case(
            r#"{"DateLessThan": {"aws:CurrentTime": "2026-06-01T00:00:00Z"}}"#,
            none,
            true,
        ),
        case(
            r#"{"DateLessThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}}"#,
            none,
            false,
        ),
        case(
            r#"{"DateLessThan": {"aws:TokenIssueTime": "2030-01-01"}}"#,
            none,
            false,
        ),
        case(
            r#"{"DateLessThanIfExists": {"aws:TokenIssueTime": "2020-01-01"}}"#,
            none,
            true,
        ),
        case(
            r#"{"DateLessThanIfExists": {"aws:TokenIssueTime": "2020-01-01"}}"#,
            issued,
            false,
        ),
        case(
            r#"{"DateLessThanEquals": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}}"#,
            none,
            true,
        ),
        case(
            r#"{"DateLessThanEquals": {"aws:CurrentTime": "2025-12-31T23:59:59Z"}}"#,
            none,
            false,
        ),
        case(
            r#"{"DateLessThanEquals": {"aws:TokenIssueTime": "2030-01-01"}}"#,
            none,
            false,
        ),
        case(
            r#"{"DateLessThanEqualsIfExists": {"aws:TokenIssueTime": "2000-01-01"}}"#,
            none,
            true,
        ),
        case(
            r#"{"DateGreaterThan": {"aws:CurrentTime": "2025-12-31T23:59:59Z"}}"#,
            none,
            true,
        ),
        case(
            r#"{"DateGreaterThan": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}}"#,
            none,
            false,
        ),
        case(
            r#"{"DateGreaterThan": {"aws:TokenIssueTime": "2000-01-01"}}"#,
            none,
            false,
        ),
        case(
            r#"{"DateGreaterThan": {"aws:TokenIssueTime": "2025-12-31T23:00:00Z"}}"#,
            issued,
            true,
        ),
        case(
            r#"{"DateGreaterThanIfExists": {"aws:TokenIssueTime": "2030-01-01"}}"#,
            none,
            true,
        ),
        case(
            r#"{"DateGreaterThanEquals": {"aws:CurrentTime": "2026-01-01T00:00:00Z"}}"#,
            none,
            true,
        ),
        case(
            r#"{"DateGreaterThanEquals": {"aws:CurrentTime": "2026-01-01T00:00:00.001Z"}}"#,
            none,
            false,
        ),
        case(
            r#"{"DateGreaterThanEquals": {"aws:TokenIssueTime": "2000-01-01"}}"#,
            none,
            false,
        ),
        case(
            r#"{"DateGreaterThanEqualsIfExists": {"aws:TokenIssueTime": "2030-01-01"}}"#,
            issued,
            false,
        ),
        // aws:EpochTime compares as an instant too, against either notation.
        case(
            r#"{"DateGreaterThan": {"aws:EpochTime": "2025-01-01T00:00:00Z"}}"#,
            none,
            true,
        ),
        case(
            r#"{"DateLessThan": {"aws:EpochTime": "1767225601"}}"#,
            none,
            true,
        ),
    ]);
}

#[test]
fn bool_and_binary_operators() {
    fn secure(env: &mut Env) {
        env.secure_transport = true;
    }
    fn binary(env: &mut Env) {
        env.service_key("sqs:blob", "QmluYXJ5VmFsdWVJbkJhc2U2NA==");
    }
    run(&[
        case(r#"{"Bool": {"aws:SecureTransport": "true"}}"#, secure, true),
        case(r#"{"Bool": {"aws:SecureTransport": true}}"#, secure, true),
        case(
            r#"{"Bool": {"aws:SecureTransport": "false"}}"#,
            secure,
            false,
        ),
        case(r#"{"Bool": {"aws:SecureTransport": "false"}}"#, none, true),
        case(r#"{"Bool": {"aws:SecureTransport": "true"}}"#, none, false),
        case(
            r#"{"Bool": {"aws:MultiFactorAuthPresent": "false"}}"#,
            none,
            true,
        ),
        case(r#"{"Bool": {"aws:ViaAWSService": "true"}}"#, none, false),
        case(r#"{"Bool": {"aws:ViaAWSService": "false"}}"#, none, false),
        case(
            r#"{"BoolIfExists": {"aws:ViaAWSService": "false"}}"#,
            none,
            true,
        ),
        case(
            r#"{"BoolIfExists": {"aws:SecureTransport": "true"}}"#,
            none,
            false,
        ),
        case(
            r#"{"BoolIfExists": {"aws:SecureTransport": "true"}}"#,
            secure,
            true,
        ),
        case(
            r#"{"BinaryEquals": {"sqs:blob": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}"#,
            binary,
            true,
        ),
        case(
            r#"{"BinaryEquals": {"sqs:blob": "T3RoZXI="}}"#,
            binary,
            false,
        ),
        case(
            r#"{"BinaryEquals": {"sqs:blob": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}"#,
            none,
            false,
        ),
        case(
            r#"{"BinaryEqualsIfExists": {"sqs:blob": "T3RoZXI="}}"#,
            none,
            true,
        ),
        case(
            r#"{"BinaryEqualsIfExists": {"sqs:blob": "T3RoZXI="}}"#,
            binary,
            false,
        ),
    ]);
}

#[test]
fn ip_address_operators() {
    fn v4(env: &mut Env) {
        env.ip("203.0.113.7");
    }
    fn v6(env: &mut Env) {
        env.ip("2001:db8:1::5");
    }
    fn mapped(env: &mut Env) {
        env.ip("::ffff:203.0.113.7");
    }
    run(&[
        case(
            r#"{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#,
            v4,
            true,
        ),
        case(
            r#"{"IpAddress": {"aws:SourceIp": "203.0.113.7"}}"#,
            v4,
            true,
        ),
        case(
            r#"{"IpAddress": {"aws:SourceIp": "203.0.113.7/32"}}"#,
            v4,
            true,
        ),
        case(r#"{"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}"#, v4, true),
        case(
            r#"{"IpAddress": {"aws:SourceIp": ["198.51.100.0/24", "203.0.0.0/16"]}}"#,
            v4,
            true,
        ),
        case(
            r#"{"IpAddress": {"aws:SourceIp": "198.51.100.0/24"}}"#,
            v4,
            false,
        ),
        case(
            r#"{"IpAddress": {"aws:SourceIp": "203.0.113.8"}}"#,
            v4,
            false,
        ),
        case(
            r#"{"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}"#,
            v4,
            false,
        ),
        case(
            r#"{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#,
            none,
            false,
        ),
        case(
            r#"{"IpAddressIfExists": {"aws:SourceIp": "203.0.113.0/24"}}"#,
            none,
            true,
        ),
        case(
            r#"{"IpAddressIfExists": {"aws:SourceIp": "198.51.100.0/24"}}"#,
            v4,
            false,
        ),
        case(
            r#"{"IpAddress": {"aws:SourceIp": "2001:db8::/32"}}"#,
            v6,
            true,
        ),
        case(
            r#"{"IpAddress": {"aws:SourceIp": "2001:db8:1::/48"}}"#,
            v6,
            true,
        ),
        case(
            r#"{"IpAddress": {"aws:SourceIp": "2001:db8:1::5"}}"#,
            v6,
            true,
        ),
        case(
            r#"{"IpAddress": {"aws:SourceIp": "2001:db9::/32"}}"#,
            v6,
            false,
        ),
        case(
            r#"{"IpAddress": {"aws:SourceIp": "2001:db8:2::/48"}}"#,
            v6,
            false,
        ),
        case(
            r#"{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#,
            v6,
            false,
        ),
        case(r#"{"IpAddress": {"aws:SourceIp": "::/0"}}"#, v6, true),
        case(
            r#"{"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#,
            mapped,
            true,
        ),
        case(
            r#"{"NotIpAddress": {"aws:SourceIp": "198.51.100.0/24"}}"#,
            v4,
            true,
        ),
        case(
            r#"{"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#,
            v4,
            false,
        ),
        case(
            r#"{"NotIpAddress": {"aws:SourceIp": ["198.51.100.0/24", "203.0.113.0/24"]}}"#,
            v4,
            false,
        ),
        case(
            r#"{"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}"#,
            none,
            true,
        ),
        case(
            r#"{"NotIpAddressIfExists": {"aws:SourceIp": "203.0.113.0/24"}}"#,
            none,
            true,
        ),
        case(
            r#"{"NotIpAddressIfExists": {"aws:SourceIp": "203.0.113.0/24"}}"#,
            v4,
            false,
        ),
        case(
            r#"{"NotIpAddress": {"aws:SourceIp": "2001:db9::/32"}}"#,
            v6,
            true,
        ),
        case(
            r#"{"NotIpAddress": {"aws:SourceIp": "2001:db8::/32"}}"#,
            v6,
            false,
        ),
    ]);
}

#[test]
fn arn_operators() {
    fn source(env: &mut Env) {
        env.service_key("aws:sourcearn", "arn:aws:sns:us-east-1:123456789012:events");
    }
    run(&[
        case(
            r#"{"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:user/alice"}}"#,
            none,
            true,
        ),
        case(
            r#"{"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:user/*"}}"#,
            none,
            true,
        ),
        case(
            r#"{"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:user/bob"}}"#,
            none,
            false,
        ),
        case(
            r#"{"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:events"}}"#,
            source,
            true,
        ),
        case(
            r#"{"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:events"}}"#,
            none,
            false,
        ),
        case(
            r#"{"ArnEqualsIfExists": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:other"}}"#,
            none,
            true,
        ),
        case(
            r#"{"ArnEqualsIfExists": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:other"}}"#,
            source,
            false,
        ),
        // A role session's aws:PrincipalArn is its role's ARN.
        case(
            r#"{"ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:role/app"}}"#,
            as_session,
            true,
        ),
        case(
            r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/al*"}}"#,
            none,
            true,
        ),
        case(
            r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::123456789012:*"}}"#,
            none,
            true,
        ),
        case(
            r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/b*"}}"#,
            none,
            false,
        ),
        case(
            r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::1234*"}}"#,
            none,
            false,
        ),
        case(
            r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:*:user/alice"}}"#,
            none,
            false,
        ),
        case(
            r#"{"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:*:*"}}"#,
            none,
            false,
        ),
        case(
            r#"{"ArnLikeIfExists": {"aws:SourceArn": "arn:aws:sns:*:*:*"}}"#,
            none,
            true,
        ),
        case(
            r#"{"ArnLikeIfExists": {"aws:SourceArn": "arn:aws:sqs:*:*:*"}}"#,
            source,
            false,
        ),
        case(
            r#"{"ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:user/bob"}}"#,
            none,
            true,
        ),
        case(
            r#"{"ArnNotEquals": {"aws:PrincipalArn": "arn:aws:iam::123456789012:user/alice"}}"#,
            none,
            false,
        ),
        case(
            r#"{"ArnNotEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:events"}}"#,
            none,
            true,
        ),
        case(
            r#"{"ArnNotEqualsIfExists": {"aws:SourceArn": "arn:aws:sns:us-east-1:123456789012:events"}}"#,
            source,
            false,
        ),
        case(
            r#"{"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/b*"}}"#,
            none,
            true,
        ),
        case(
            r#"{"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}}"#,
            none,
            false,
        ),
        case(
            r#"{"ArnNotLike": {"aws:SourceArn": "arn:aws:sns:*:*:*"}}"#,
            none,
            true,
        ),
        case(
            r#"{"ArnNotLikeIfExists": {"aws:SourceArn": "arn:aws:sns:*:*:*"}}"#,
            source,
            false,
        ),
    ]);
}

#[test]
fn null_operator() {
    fn tagged(env: &mut Env) {
        env.request_tag("team", "red");
    }
    run(&[
        case(r#"{"Null": {"aws:RequestTag/team": "true"}}"#, none, true),
        case(
            r#"{"Null": {"aws:RequestTag/team": "true"}}"#,
            tagged,
            false,
        ),
        case(
            r#"{"Null": {"aws:RequestTag/team": "false"}}"#,
            tagged,
            true,
        ),
        case(r#"{"Null": {"aws:RequestTag/team": "false"}}"#, none, false),
        case(r#"{"Null": {"aws:RequestTag/team": true}}"#, none, true),
        case(r#"{"Null": {"aws:SourceIp": "true"}}"#, none, true),
        case(
            r#"{"Null": {"aws:SourceIp": "true"}}"#,
            |e| {
                e.ip("10.0.0.1");
            },
            false,
        ),
        case(r#"{"Null": {"aws:username": "true"}}"#, as_session, true),
        case(r#"{"Null": {"aws:username": "false"}}"#, none, true),
        case(r#"{"Null": {"aws:TagKeys": "true"}}"#, none, true),
        case(
            r#"{"Null": {"aws:TagKeys": "true"}}"#,
            |e| {
                e.tag_keys(&[]);
            },
            true,
        ),
        case(
            r#"{"Null": {"aws:TagKeys": "false"}}"#,
            |e| {
                e.tag_keys(&["team"]);
            },
            true,
        ),
    ]);
}
