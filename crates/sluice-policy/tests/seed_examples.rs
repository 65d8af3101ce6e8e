//! The examples of the IAM and SQS guides (seed pages 59, 62, 64, 39 and 40), evaluated as the
//! pages say they are.

mod common;

use common::*;
use sluice_policy::{Decision, PolicyType};

/// Seed 64: ShirleyRodriguez's boundary allows S3, CloudWatch and EC2; an identity policy allowing
/// `iam:CreateUser` gives her nothing.
#[test]
fn boundary_example_shirley() {
    let boundary = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["s3:*", "cloudwatch:*", "ec2:*"],
                "Resource": "*"
            }
        ]
    }"#,
    );
    let create_user = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": {
            "Effect": "Allow",
            "Action": "iam:CreateUser",
            "Resource": "*"
        }
    }"#,
    );
    let shirley = Env::new(user(ACCOUNT, "ShirleyRodriguez"));
    let set = Set::new().boundary(boundary).identity(create_user);
    let new_user = user_arn(ACCOUNT, "new");
    assert_eq!(
        set.decide(&shirley, "iam:CreateUser", &new_user),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );
    assert_eq!(
        set.decide_in(&shirley, "s3:ListBucket", "arn:aws:s3:::bucket", ACCOUNT),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    let set = set.identity(allow("s3:*", "*"));
    assert_eq!(
        set.decide_in(&shirley, "s3:ListBucket", "arn:aws:s3:::bucket", ACCOUNT),
        Decision::Allow
    );
}

const X_COMPANY_BOUNDARIES: &str = r#"{
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ServiceBoundaries",
            "Effect": "Allow",
            "Action": ["s3:*", "cloudwatch:*", "ec2:*", "dynamodb:*"],
            "Resource": "*"
        },
        {
            "Sid": "AllowIAMConsoleForCredentials",
            "Effect": "Allow",
            "Action": ["iam:ListUsers", "iam:GetAccountPasswordPolicy"],
            "Resource": "*"
        },
        {
            "Sid": "AllowManageOwnPasswordAndAccessKeys",
            "Effect": "Allow",
            "Action": [
                "iam:*AccessKey*",
                "iam:ChangePassword",
                "iam:GetUser",
                "iam:*ServiceSpecificCredential*",
                "iam:*SigningCertificate*"
            ],
            "Resource": ["arn:aws:iam::*:user/${aws:username}"]
        },
        {
            "Sid": "DenyS3Logs",
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::logs", "arn:aws:s3:::logs/*"]
        },
        {
            "Sid": "DenyEC2Production",
            "Effect": "Deny",
            "Action": "ec2:*",
            "Resource": "arn:aws:ec2:*:*:instance/i-1234567890abcdef0"
        }
    ]
}"#;

/// Seed 64: Nikhil, with IAM full access and S3 read-only access inside the XCompanyBoundaries
/// boundary.
#[test]
fn boundary_example_nikhil() {
    let nikhil = Env::new(user(ACCOUNT, "Nikhil"));
    let set = || {
        Set::new()
            .boundary(identity(X_COMPANY_BOUNDARIES))
            .identity(allow("iam:*", "*"))
            .identity(identity(&doc(
                r#"{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}"#,
            )))
    };
    let own = user_arn(ACCOUNT, "Nikhil");
    let other = user_arn(ACCOUNT, "Zhang");
    let s3 = |action: &str, resource: &str| set().decide_in(&nikhil, action, resource, ACCOUNT);

    assert_eq!(
        set().decide(&nikhil, "iam:ChangePassword", &own),
        Decision::Allow
    );
    assert_eq!(
        set().decide(&nikhil, "iam:CreateAccessKey", &own),
        Decision::Allow
    );
    assert_eq!(
        set().decide(&nikhil, "iam:ListUsers", &other),
        Decision::Allow
    );
    assert_eq!(
        set().decide(&nikhil, "iam:ChangePassword", &other),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );
    assert_eq!(
        set().decide(&nikhil, "iam:CreateUser", &user_arn(ACCOUNT, "new")),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );
    assert_eq!(
        set().decide(&nikhil, "iam:PutUserPolicy", &own),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );
    assert_eq!(
        s3("s3:GetObject", "arn:aws:s3:::reports/q1"),
        Decision::Allow
    );
    assert_eq!(
        s3("s3:PutObject", "arn:aws:s3:::reports/q1"),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    assert_eq!(
        s3("s3:GetObject", "arn:aws:s3:::logs/today"),
        Decision::ExplicitDeny(PolicyType::PermissionsBoundary)
    );
    assert_eq!(
        set().decide_in(
            &nikhil,
            "ec2:StopInstances",
            "arn:aws:ec2:us-east-1:123456789012:instance/i-1234567890abcdef0",
            ACCOUNT
        ),
        Decision::ExplicitDeny(PolicyType::PermissionsBoundary)
    );

    // A resource policy on the logs bucket naming Nikhil does not overcome the boundary's deny.
    let logs_policy = resource(&doc(&format!(
        r#"{{"Effect": "Allow", "Principal": {{"AWS": "{own}"}}, "Action": "s3:PutObject",
            "Resource": "arn:aws:s3:::logs/*"}}"#
    )));
    assert_eq!(
        set().resource(logs_policy).decide_in(
            &nikhil,
            "s3:PutObject",
            "arn:aws:s3:::logs/today",
            ACCOUNT
        ),
        Decision::ExplicitDeny(PolicyType::PermissionsBoundary)
    );
    // A secret's resource policy naming Nikhil does: the boundary's implicit deny does not limit
    // it.
    let secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf";
    let secret_policy = grant_aws(&own, "secretsmanager:GetSecretValue");
    assert_eq!(
        set().decide(&nikhil, "secretsmanager:GetSecretValue", secret),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    assert_eq!(
        set()
            .resource(secret_policy)
            .decide(&nikhil, "secretsmanager:GetSecretValue", secret),
        Decision::Allow
    );
}

/// Seed 64: Zhang, who may create users only with the XCompanyBoundaries boundary.
#[test]
fn boundary_example_zhang() {
    let delegated_user_boundary = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "CreateOrChangeOnlyWithBoundary",
                "Effect": "Allow",
                "Action": [
                    "iam:AttachUserPolicy",
                    "iam:CreateUser",
                    "iam:DeleteUserPolicy",
                    "iam:DetachUserPolicy",
                    "iam:PutUserPermissionsBoundary",
                    "iam:PutUserPolicy"
                ],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "iam:PermissionsBoundary": "arn:aws:iam::123456789012:policy/XCompanyBoundaries"
                    }
                }
            },
            {
                "Sid": "CloudWatchAndOtherIAMTasks",
                "Effect": "Allow",
                "Action": [
                    "cloudwatch:*",
                    "iam:CreateAccessKey",
                    "iam:CreateGroup",
                    "iam:CreateLoginProfile",
                    "iam:CreatePolicy",
                    "iam:DeleteGroup",
                    "iam:DeletePolicy",
                    "iam:DeletePolicyVersion",
                    "iam:DeleteUser",
                    "iam:GetAccountPasswordPolicy",
                    "iam:GetGroup",
                    "iam:GetLoginProfile",
                    "iam:GetPolicy",
                    "iam:GetPolicyVersion",
                    "iam:GetRolePolicy",
                    "iam:GetUser",
                    "iam:GetUserPolicy",
                    "iam:ListAccessKeys",
                    "iam:ListAttachedRolePolicies",
                    "iam:ListAttachedUserPolicies",
                    "iam:ListEntitiesForPolicy",
                    "iam:ListGroups",
                    "iam:ListGroupsForUser",
                    "iam:ListMFADevices",
                    "iam:ListPolicies",
                    "iam:ListPolicyVersions",
                    "iam:ListRolePolicies",
                    "iam:ListSSHPublicKeys",
                    "iam:ListServiceSpecificCredentials",
                    "iam:ListSigningCertificates",
                    "iam:ListUserPolicies",
                    "iam:ListUsers",
                    "iam:SetDefaultPolicyVersion",
                    "iam:SimulateCustomPolicy",
                    "iam:SimulatePrincipalPolicy",
                    "iam:UpdateGroup",
                    "iam:UpdateLoginProfile",
                    "iam:UpdateUser"
                ],
                "NotResource": "arn:aws:iam::123456789012:user/Maria"
            },
            {
                "Sid": "NoBoundaryPolicyEdit",
                "Effect": "Deny",
                "Action": [
                    "iam:CreatePolicyVersion",
                    "iam:DeletePolicy",
                    "iam:DeletePolicyVersion",
                    "iam:SetDefaultPolicyVersion"
                ],
                "Resource": [
                    "arn:aws:iam::123456789012:policy/XCompanyBoundaries",
                    "arn:aws:iam::123456789012:policy/DelegatedUserBoundary"
                ]
            },
            {
                "Sid": "NoBoundaryUserDelete",
                "Effect": "Deny",
                "Action": "iam:DeleteUserPermissionsBoundary",
                "Resource": "*"
            }
        ]
    }"#,
    );
    let delegated_user_permissions = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "IAM",
                "Effect": "Allow",
                "Action": "iam:*",
                "Resource": "*"
            },
            {
                "Sid": "CloudWatchLimited",
                "Effect": "Allow",
                "Action": [
                    "cloudwatch:GetDashboard",
                    "cloudwatch:GetMetricData",
                    "cloudwatch:ListDashboards",
                    "cloudwatch:GetMetricStatistics",
                    "cloudwatch:ListMetrics"
                ],
                "Resource": "*"
            },
            {
                "Sid": "S3BucketContents",
                "Effect": "Allow",
                "Action": "s3:ListBucket",
                "Resource": "arn:aws:s3:::ZhangBucket"
            }
        ]
    }"#,
    );
    let set = Set::new()
        .boundary(delegated_user_boundary)
        .identity(delegated_user_permissions);
    let zhang = Env::new(user(ACCOUNT, "Zhang"));
    let nikhil = user_arn(ACCOUNT, "Nikhil");
    let maria = user_arn(ACCOUNT, "Maria");
    let x_company = "arn:aws:iam::123456789012:policy/XCompanyBoundaries";

    // Creating a user needs the XCompanyBoundaries boundary.
    assert_eq!(
        set.decide(&zhang, "iam:CreateUser", &nikhil),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );
    let mut with_boundary = Env::new(user(ACCOUNT, "Zhang"));
    with_boundary.service_key("iam:permissionsboundary", x_company);
    assert_eq!(
        set.decide(&with_boundary, "iam:CreateUser", &nikhil),
        Decision::Allow
    );
    let mut other_boundary = Env::new(user(ACCOUNT, "Zhang"));
    other_boundary.service_key(
        "iam:permissionsboundary",
        "arn:aws:iam::123456789012:policy/AdministratorAccess",
    );
    assert_eq!(
        set.decide(&other_boundary, "iam:CreateUser", &nikhil),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );

    // Other IAM tasks, except on Maria.
    assert_eq!(
        set.decide(&zhang, "iam:UpdateLoginProfile", &nikhil),
        Decision::Allow
    );
    assert_eq!(
        set.decide(&zhang, "iam:UpdateLoginProfile", &maria),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );
    assert_eq!(
        set.decide(&zhang, "iam:CreateRole", &role_arn(ACCOUNT, "x")),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );
    // The boundary policies themselves are out of reach.
    assert_eq!(
        set.decide(&zhang, "iam:DeletePolicy", x_company),
        Decision::ExplicitDeny(PolicyType::PermissionsBoundary)
    );
    assert_eq!(
        set.decide(
            &zhang,
            "iam:DeletePolicy",
            "arn:aws:iam::123456789012:policy/Other"
        ),
        Decision::Allow
    );
    assert_eq!(
        set.decide(&zhang, "iam:DeleteUserPermissionsBoundary", &nikhil),
        Decision::ExplicitDeny(PolicyType::PermissionsBoundary)
    );
    // CloudWatch: the five actions of his permissions policy.
    let dashboard = "arn:aws:cloudwatch::123456789012:dashboard/main";
    assert_eq!(
        set.decide(&zhang, "cloudwatch:GetDashboard", dashboard),
        Decision::Allow
    );
    assert_eq!(
        set.decide(&zhang, "cloudwatch:PutDashboard", dashboard),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    // S3: allowed by his permissions, not by his boundary.
    assert_eq!(
        set.decide_in(&zhang, "s3:ListBucket", "arn:aws:s3:::ZhangBucket", ACCOUNT),
        Decision::ImplicitDeny(PolicyType::PermissionsBoundary)
    );
}

/// Seed 59: three statements, the third conditioned on MFA, which a user signing with access keys
/// does not have; and a bucket policy trusting an account.
#[test]
fn multiple_statements_example() {
    let policy = identity(
        r#"{
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "FirstStatement",
                "Effect": "Allow",
                "Action": ["iam:ChangePassword"],
                "Resource": "*"
            },
            {
                "Sid": "SecondStatement",
                "Effect": "Allow",
                "Action": "s3:ListAllMyBuckets",
                "Resource": "*"
            },
            {
                "Sid": "ThirdStatement",
                "Effect": "Allow",
                "Action": ["s3:List*", "s3:Get*"],
                "Resource": [
                    "arn:aws:s3:::amzn-s3-demo-bucket-confidential-data",
                    "arn:aws:s3:::amzn-s3-demo-bucket-confidential-data/*"
                ],
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
            }
        ]
    }"#,
    );
    let set = Set::new().identity(policy);
    let alice = Env::new(user(ACCOUNT, "alice"));
    assert_eq!(
        set.decide(&alice, "iam:ChangePassword", &user_arn(ACCOUNT, "alice")),
        Decision::Allow
    );
    assert_eq!(
        set.decide_in(&alice, "s3:ListAllMyBuckets", "*", ACCOUNT),
        Decision::Allow
    );
    assert_eq!(
        set.decide_in(
            &alice,
            "s3:GetObject",
            "arn:aws:s3:::amzn-s3-demo-bucket-confidential-data/x",
            ACCOUNT
        ),
        Decision::ImplicitDeny(PolicyType::Identity)
    );

    let bucket_policy = resource(
        r#"{
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "1",
            "Effect": "Allow",
            "Principal": {"AWS": ["arn:aws:iam::444455556666:root"]},
            "Action": "s3:*",
            "Resource": ["arn:aws:s3:::amzn-s3-demo-bucket", "arn:aws:s3:::amzn-s3-demo-bucket/*"]
        }]
    }"#,
    );
    let carol = Env::new(user(OTHER, "carol"));
    let object = "arn:aws:s3:::amzn-s3-demo-bucket/k";
    let trusted = Set::new().resource(bucket_policy);
    assert_eq!(
        trusted.decide_in(&carol, "s3:GetObject", object, ACCOUNT),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    let trusted = trusted.identity(allow("s3:GetObject", "*"));
    assert_eq!(
        trusted.decide_in(&carol, "s3:GetObject", object, ACCOUNT),
        Decision::Allow
    );
    assert_eq!(
        trusted.decide_in(&carol, "s3:GetObject", "arn:aws:s3:::elsewhere/k", ACCOUNT),
        Decision::ImplicitDeny(PolicyType::Resource)
    );
}

/// Seed 62: a principal list of two accounts is a logical OR.
#[test]
fn principal_lists_are_alternatives() {
    let policy = resource(
        r#"{"Version": "2012-10-17", "Statement": {
            "Effect": "Allow",
            "Principal": {
                "AWS": ["arn:aws:iam::123456789012:root", "555555555555"],
                "CanonicalUser": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"
            },
            "Action": "sqs:*"
        }}"#,
    );
    let set = Set::new().identity(allow("sqs:*", "*")).resource(policy);
    for account in [ACCOUNT, "555555555555"] {
        assert_eq!(
            set.decide(&Env::new(user(account, "u")), SEND, QUEUE),
            Decision::Allow,
            "{account}"
        );
    }
    assert_eq!(
        set.decide(&Env::new(user(OTHER, "u")), SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Resource)
    );
}

/// Seed 40: the SQS identity policy examples.
#[test]
fn sqs_identity_policy_examples() {
    let bob = Env::new(user(ACCOUNT, "bob"));
    let alice_queues = Set::new().identity(identity(
        r#"{"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Action": "sqs:*",
            "Resource": "arn:aws:sqs:*:123456789012:alice_queue_*"
        }]}"#,
    ));
    for (action, queue, allowed) in [
        (
            "sqs:CreateQueue",
            "arn:aws:sqs:us-east-1:123456789012:alice_queue_1",
            true,
        ),
        (
            "sqs:SendMessage",
            "arn:aws:sqs:eu-west-1:123456789012:alice_queue_x",
            true,
        ),
        (
            "sqs:CreateQueue",
            "arn:aws:sqs:us-east-1:123456789012:bob_queue_1",
            false,
        ),
        (
            "sqs:CreateQueue",
            "arn:aws:sqs:us-east-1:123456789012:alice_queue",
            false,
        ),
    ] {
        assert_eq!(
            alice_queues.decide(&bob, action, queue).is_allowed(),
            allowed,
            "{action} {queue}"
        );
    }

    let shared = Set::new().identity(identity(
        r#"{"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": "arn:aws:sqs:*:123456789012:MyCompanyQueue"
        }]}"#,
    ));
    let company = "arn:aws:sqs:us-west-2:123456789012:MyCompanyQueue";
    assert_eq!(shared.decide(&bob, SEND, company), Decision::Allow);
    assert_eq!(
        shared.decide(&bob, "sqs:ReceiveMessage", company),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    assert_eq!(
        shared.decide(
            &bob,
            SEND,
            "arn:aws:sqs:us-west-2:123456789012:mycompanyqueue"
        ),
        Decision::ImplicitDeny(PolicyType::Identity)
    );

    let managers = Set::new().identity(identity(
        r#"{"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Action": "sqs:GetQueueAttributes",
            "Resource": "*"
        }]}"#,
    ));
    assert_eq!(
        managers.decide(&bob, "sqs:GetQueueAttributes", QUEUE),
        Decision::Allow
    );

    // A partner's user is granted by its own account's policy, and the queue's account must still
    // trust it.
    let partner = Env::new(user(OTHER, "widget-app"));
    let partner_queue = "arn:aws:sqs:us-east-1:123456789012:WidgetPartnerQueue";
    let widget_co = Set::new().identity(identity(
        r#"{"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Action": "sqs:SendMessage",
            "Resource": "arn:aws:sqs:*:123456789012:WidgetPartnerQueue"
        }]}"#,
    ));
    assert_eq!(
        widget_co.decide(&partner, SEND, partner_queue),
        Decision::ImplicitDeny(PolicyType::Resource)
    );
    let trusted = widget_co.resource(grant_aws(OTHER, SEND));
    assert_eq!(
        trusted.decide(&partner, SEND, partner_queue),
        Decision::Allow
    );
}

/// Seed 39: a queue policy naming a principal in the same account needs no identity policy; one
/// naming an account elsewhere is half of the trust.
#[test]
fn sqs_queue_policy_examples() {
    let queue_policy = resource(&format!(
        r#"{{"Version": "2012-10-17", "Id": "Queue1_Policy_UUID", "Statement": [
            {{
                "Sid": "Queue1_SendMessage",
                "Effect": "Allow",
                "Principal": {{"AWS": ["{alice}", "{OTHER}"]}},
                "Action": ["sqs:SendMessage", "sqs:ReceiveMessage"],
                "Resource": "{QUEUE}"
            }}
        ]}}"#,
        alice = user_arn(ACCOUNT, "alice"),
    ));
    let set = Set::new().resource(queue_policy);
    let alice = Env::new(user(ACCOUNT, "alice"));
    let carol = Env::new(user(OTHER, "carol"));
    assert_eq!(set.decide(&alice, SEND, QUEUE), Decision::Allow);
    assert_eq!(
        set.decide(&alice, "sqs:ReceiveMessage", QUEUE),
        Decision::Allow
    );
    assert_eq!(
        set.decide(&alice, "sqs:DeleteQueue", QUEUE),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    assert_eq!(
        set.decide(&carol, SEND, QUEUE),
        Decision::ImplicitDeny(PolicyType::Identity)
    );
    let set = set.identity(allow("sqs:*", "*"));
    assert_eq!(set.decide(&carol, SEND, QUEUE), Decision::Allow);
    assert_eq!(
        set.decide(&carol, "sqs:DeleteQueue", QUEUE),
        Decision::ImplicitDeny(PolicyType::Resource)
    );
}
