use serde_json::json;

use super::super::ids::url_encode;
use super::*;

const ALLOW_ALL: &str =
    r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"sqs:*","Resource":"*"}}"#;

async fn ok(directory: &Directory, action: &str, pairs: &[(&str, &str)]) -> Value {
    iam(directory, &root(), action, pairs).await.unwrap()
}

#[tokio::test]
async fn groups_and_memberships() {
    let directory = directory();
    let created = ok(
        &directory,
        "CreateGroup",
        &[("GroupName", "Readers"), ("Path", "/q/")],
    )
    .await;
    assert_eq!(
        created["Group"]["Arn"],
        "arn:aws:iam::111122223333:group/q/Readers"
    );
    assert!(created["Group"]["GroupId"]
        .as_str()
        .unwrap()
        .starts_with("AGPA"));
    assert_error(
        iam(
            &directory,
            &root(),
            "CreateGroup",
            &[("GroupName", "readers")],
        )
        .await,
        "EntityAlreadyExists",
        "Group with name readers already exists.",
    );
    ok(&directory, "CreateUser", &[("UserName", "alice")]).await;
    ok(&directory, "CreateUser", &[("UserName", "bob")]).await;
    for user in ["alice", "bob"] {
        ok(
            &directory,
            "AddUserToGroup",
            &[("GroupName", "readers"), ("UserName", user)],
        )
        .await;
    }
    ok(
        &directory,
        "AddUserToGroup",
        &[("GroupName", "readers"), ("UserName", "alice")],
    )
    .await;
    assert_error(
        iam(
            &directory,
            &root(),
            "AddUserToGroup",
            &[("GroupName", "writers"), ("UserName", "alice")],
        )
        .await,
        "NoSuchEntity",
        "The group with name writers cannot be found.",
    );

    let group = ok(
        &directory,
        "GetGroup",
        &[("GroupName", "readers"), ("MaxItems", "1")],
    )
    .await;
    assert_eq!(group["Group"]["GroupName"], "Readers");
    assert_eq!(group["Users"][0]["UserName"], "alice");
    assert_eq!(group["IsTruncated"], true);
    let groups = ok(&directory, "ListGroupsForUser", &[("UserName", "bob")]).await;
    assert_eq!(groups["Groups"][0]["GroupName"], "Readers");
    assert_eq!(
        ok(&directory, "ListGroups", &[]).await["Groups"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    assert_error(
        iam(
            &directory,
            &root(),
            "DeleteGroup",
            &[("GroupName", "readers")],
        )
        .await,
        "DeleteConflict",
        "Cannot delete entity, must remove users from group first.",
    );
    for user in ["alice", "bob"] {
        ok(
            &directory,
            "RemoveUserFromGroup",
            &[("GroupName", "readers"), ("UserName", user)],
        )
        .await;
    }
    assert_eq!(
        iam(
            &directory,
            &root(),
            "RemoveUserFromGroup",
            &[("GroupName", "readers"), ("UserName", "bob")],
        )
        .await
        .unwrap_err()
        .code,
        "NoSuchEntity"
    );
    assert_eq!(
        ok(&directory, "ListGroupsForUser", &[("UserName", "bob")]).await["Groups"],
        json!([])
    );
    ok(&directory, "DeleteGroup", &[("GroupName", "readers")]).await;
}

#[tokio::test]
async fn inline_policies_of_users_groups_and_roles() {
    let directory = directory();
    ok(&directory, "CreateUser", &[("UserName", "alice")]).await;
    ok(&directory, "CreateGroup", &[("GroupName", "g")]).await;
    let trust = r#"{"Statement":{"Effect":"Allow","Principal":{"AWS":"111122223333"},"Action":"sts:AssumeRole"}}"#;
    ok(
        &directory,
        "CreateRole",
        &[("RoleName", "r"), ("AssumeRolePolicyDocument", trust)],
    )
    .await;

    for (kind, member, name) in [
        ("User", "UserName", "alice"),
        ("Group", "GroupName", "g"),
        ("Role", "RoleName", "r"),
    ] {
        ok(
            &directory,
            &format!("Put{kind}Policy"),
            &[
                (member, name),
                ("PolicyName", "all"),
                ("PolicyDocument", ALLOW_ALL),
            ],
        )
        .await;
        let got = ok(
            &directory,
            &format!("Get{kind}Policy"),
            &[(member, name), ("PolicyName", "all")],
        )
        .await;
        assert_eq!(got[member], name);
        assert_eq!(got["PolicyName"], "all");
        assert_eq!(got["PolicyDocument"], url_encode(ALLOW_ALL));
        let listed = ok(
            &directory,
            &format!("List{kind}Policies"),
            &[(member, name)],
        )
        .await;
        assert_eq!(listed["PolicyNames"], json!(["all"]));
        ok(
            &directory,
            &format!("Delete{kind}Policy"),
            &[(member, name), ("PolicyName", "all")],
        )
        .await;
        assert_error(
            iam(
                &directory,
                &root(),
                &format!("Get{kind}Policy"),
                &[(member, name), ("PolicyName", "all")],
            )
            .await,
            "NoSuchEntity",
            &format!(
                "The {} policy with name all cannot be found.",
                kind.to_lowercase()
            ),
        );
    }

    assert_error(
        iam(
            &directory,
            &root(),
            "PutUserPolicy",
            &[
                ("UserName", "alice"),
                ("PolicyName", "p"),
                (
                    "PolicyDocument",
                    r#"{"Statement":{"Effect":"Allow","Action":"sqs:*"}}"#,
                ),
            ],
        )
        .await,
        "MalformedPolicyDocument",
        "Policy statement must contain resources.",
    );

    // The quota counts all of a user's inline policies, whitespace aside.
    let statement = r#"{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111122223333:queue"}"#;
    let document = format!(r#"{{"Statement":[{}]}}"#, [statement; 11].join(",\n  "));
    ok(
        &directory,
        "PutUserPolicy",
        &[
            ("UserName", "alice"),
            ("PolicyName", "one"),
            ("PolicyDocument", &document),
        ],
    )
    .await;
    assert_error(
        iam(
            &directory,
            &root(),
            "PutUserPolicy",
            &[
                ("UserName", "alice"),
                ("PolicyName", "two"),
                ("PolicyDocument", &document),
            ],
        )
        .await,
        "LimitExceeded",
        "Maximum policy size of 2048 bytes exceeded for user alice",
    );
    ok(
        &directory,
        "PutGroupPolicy",
        &[
            ("GroupName", "g"),
            ("PolicyName", "two"),
            ("PolicyDocument", &document),
        ],
    )
    .await;
    ok(
        &directory,
        "PutGroupPolicy",
        &[
            ("GroupName", "g"),
            ("PolicyName", "three"),
            ("PolicyDocument", &document),
        ],
    )
    .await;
}

#[tokio::test]
async fn managed_policies_attached_and_deleted() {
    let directory = directory();
    let created = ok(
        &directory,
        "CreatePolicy",
        &[
            ("PolicyName", "Send"),
            ("Path", "/app/"),
            ("PolicyDocument", ALLOW_ALL),
            ("Description", "sends"),
        ],
    )
    .await;
    let policy = &created["Policy"];
    let arn = "arn:aws:iam::111122223333:policy/app/Send";
    assert_eq!(policy["Arn"], arn);
    assert_eq!(policy["DefaultVersionId"], "v1");
    assert_eq!(policy["AttachmentCount"], 0);
    assert_eq!(policy["IsAttachable"], true);
    assert!(policy["PolicyId"].as_str().unwrap().starts_with("ANPA"));
    assert_error(
        iam(
            &directory,
            &root(),
            "CreatePolicy",
            &[("PolicyName", "send"), ("PolicyDocument", ALLOW_ALL)],
        )
        .await,
        "EntityAlreadyExists",
        "A policy called send already exists. Duplicate names are not allowed.",
    );
    let version = ok(
        &directory,
        "GetPolicyVersion",
        &[("PolicyArn", arn), ("VersionId", "v1")],
    )
    .await;
    assert_eq!(version["PolicyVersion"]["Document"], url_encode(ALLOW_ALL));
    assert_eq!(version["PolicyVersion"]["IsDefaultVersion"], true);
    assert_eq!(
        iam(
            &directory,
            &root(),
            "GetPolicyVersion",
            &[("PolicyArn", arn), ("VersionId", "v2")]
        )
        .await
        .unwrap_err()
        .code,
        "NoSuchEntity"
    );

    ok(&directory, "CreateUser", &[("UserName", "alice")]).await;
    ok(&directory, "CreateGroup", &[("GroupName", "g")]).await;
    ok(
        &directory,
        "AttachUserPolicy",
        &[("UserName", "alice"), ("PolicyArn", arn)],
    )
    .await;
    ok(
        &directory,
        "AttachUserPolicy",
        &[("UserName", "alice"), ("PolicyArn", arn)],
    )
    .await;
    ok(
        &directory,
        "AttachGroupPolicy",
        &[("GroupName", "g"), ("PolicyArn", arn)],
    )
    .await;
    assert_eq!(
        ok(&directory, "GetPolicy", &[("PolicyArn", arn)]).await["Policy"]["AttachmentCount"],
        2
    );
    let attached = ok(
        &directory,
        "ListAttachedUserPolicies",
        &[("UserName", "alice")],
    )
    .await;
    assert_eq!(
        attached["AttachedPolicies"],
        json!([{"PolicyName": "Send", "PolicyArn": arn}])
    );
    let only_attached = ok(
        &directory,
        "ListPolicies",
        &[("Scope", "Local"), ("OnlyAttached", "true")],
    )
    .await;
    assert_eq!(only_attached["Policies"][0]["PolicyName"], "Send");
    assert_eq!(
        ok(&directory, "ListPolicies", &[("Scope", "AWS")]).await["Policies"],
        json!([])
    );

    assert_error(
        iam(&directory, &root(), "DeletePolicy", &[("PolicyArn", arn)]).await,
        "DeleteConflict",
        "Cannot delete a policy attached to entities.",
    );
    assert_error(
        iam(&directory, &root(), "DeleteUser", &[("UserName", "alice")]).await,
        "DeleteConflict",
        "Cannot delete entity, must detach all policies first.",
    );
    let missing = "arn:aws:iam::111122223333:policy/Missing";
    assert_error(
        iam(
            &directory,
            &root(),
            "AttachUserPolicy",
            &[("UserName", "alice"), ("PolicyArn", missing)],
        )
        .await,
        "NoSuchEntity",
        &format!("Policy {missing} does not exist or is not attachable."),
    );
    ok(
        &directory,
        "DetachUserPolicy",
        &[("UserName", "alice"), ("PolicyArn", arn)],
    )
    .await;
    assert_error(
        iam(
            &directory,
            &root(),
            "DetachUserPolicy",
            &[("UserName", "alice"), ("PolicyArn", arn)],
        )
        .await,
        "NoSuchEntity",
        &format!("Policy {arn} was not found."),
    );
    ok(
        &directory,
        "DetachGroupPolicy",
        &[("GroupName", "g"), ("PolicyArn", arn)],
    )
    .await;
    ok(&directory, "DeletePolicy", &[("PolicyArn", arn)]).await;
    assert_eq!(
        ok(&directory, "ListPolicies", &[]).await["Policies"],
        json!([])
    );

    let big = format!(
        r#"{{"Statement":[{}]}}"#,
        [r#"{"Effect":"Allow","Action":"sqs:SendMessage","Resource":"arn:aws:sqs:us-east-1:111122223333:queue-name"}"#; 70].join(",")
    );
    assert_error(
        iam(
            &directory,
            &root(),
            "CreatePolicy",
            &[("PolicyName", "Big"), ("PolicyDocument", &big)],
        )
        .await,
        "LimitExceeded",
        "Cannot exceed quota for PolicySize: 6144",
    );
}

#[tokio::test]
async fn permissions_boundaries_count_as_uses() {
    let directory = directory();
    ok(
        &directory,
        "CreatePolicy",
        &[("PolicyName", "Boundary"), ("PolicyDocument", ALLOW_ALL)],
    )
    .await;
    let arn = "arn:aws:iam::111122223333:policy/Boundary";
    let user = ok(
        &directory,
        "CreateUser",
        &[("UserName", "alice"), ("PermissionsBoundary", arn)],
    )
    .await;
    assert_eq!(
        user["User"]["PermissionsBoundary"],
        json!({"PermissionsBoundaryType": "PermissionsPolicy", "PermissionsBoundaryArn": arn})
    );
    let trust = r#"{"Statement":{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}}"#;
    ok(
        &directory,
        "CreateRole",
        &[("RoleName", "r"), ("AssumeRolePolicyDocument", trust)],
    )
    .await;
    ok(
        &directory,
        "PutRolePermissionsBoundary",
        &[("RoleName", "r"), ("PermissionsBoundary", arn)],
    )
    .await;
    let policy = ok(&directory, "GetPolicy", &[("PolicyArn", arn)]).await;
    assert_eq!(policy["Policy"]["PermissionsBoundaryUsageCount"], 2);
    assert_eq!(
        iam(&directory, &root(), "DeletePolicy", &[("PolicyArn", arn)])
            .await
            .unwrap_err()
            .code,
        "DeleteConflict"
    );
    let role = ok(&directory, "GetRole", &[("RoleName", "r")]).await;
    assert_eq!(
        role["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"],
        arn
    );

    ok(
        &directory,
        "DeleteUserPermissionsBoundary",
        &[("UserName", "alice")],
    )
    .await;
    ok(
        &directory,
        "DeleteRolePermissionsBoundary",
        &[("RoleName", "r")],
    )
    .await;
    let user = ok(&directory, "GetUser", &[("UserName", "alice")]).await;
    assert!(user["User"].get("PermissionsBoundary").is_none());
    ok(&directory, "DeletePolicy", &[("PolicyArn", arn)]).await;
    assert_eq!(
        iam(
            &directory,
            &root(),
            "PutUserPermissionsBoundary",
            &[("UserName", "alice"), ("PermissionsBoundary", arn)],
        )
        .await
        .unwrap_err()
        .code,
        "NoSuchEntity"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_memberships_are_all_kept() {
    let directory = std::sync::Arc::new(directory());
    ok(&directory, "CreateGroup", &[("GroupName", "g")]).await;
    let names: Vec<String> = (0..8).map(|i| format!("user{i}")).collect();
    for name in &names {
        ok(&directory, "CreateUser", &[("UserName", name)]).await;
    }
    let tasks: Vec<_> = names
        .iter()
        .cloned()
        .map(|name| {
            let directory = directory.clone();
            tokio::spawn(async move {
                iam(
                    &directory,
                    &root(),
                    "AddUserToGroup",
                    &[("GroupName", "g"), ("UserName", &name)],
                )
                .await
            })
        })
        .collect();
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let group = ok(&directory, "GetGroup", &[("GroupName", "g")]).await;
    assert_eq!(group["Users"].as_array().unwrap().len(), names.len());
}
