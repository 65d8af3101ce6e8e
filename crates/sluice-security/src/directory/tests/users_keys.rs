use serde_json::json;

use super::*;

#[tokio::test]
async fn create_get_list_and_delete_users() {
    let directory = directory();
    let created = iam(
        &directory,
        &root(),
        "CreateUser",
        &[
            ("UserName", "Alice"),
            ("Path", "/team/"),
            ("Tags.member.1.Key", "team"),
            ("Tags.member.1.Value", "blue"),
        ],
    )
    .await
    .unwrap();
    let user = &created["User"];
    assert_eq!(user["Path"], "/team/");
    assert_eq!(user["UserName"], "Alice");
    assert_eq!(user["Arn"], "arn:aws:iam::111122223333:user/team/Alice");
    assert_eq!(user["CreateDate"], "2026-12-04T04:01:08Z");
    assert_eq!(user["Tags"], json!([{"Key": "team", "Value": "blue"}]));
    let id = user["UserId"].as_str().unwrap();
    assert!(id.starts_with("AIDA") && id.len() == 21);

    let got = iam(&directory, &root(), "GetUser", &[("UserName", "alice")])
        .await
        .unwrap();
    assert_eq!(got["User"]["UserId"], id);

    assert_error(
        iam(&directory, &root(), "CreateUser", &[("UserName", "ALICE")]).await,
        "EntityAlreadyExists",
        "User with name ALICE already exists.",
    );
    assert_error(
        iam(&directory, &root(), "GetUser", &[("UserName", "bob")]).await,
        "NoSuchEntity",
        "The user with name bob cannot be found.",
    );
    assert_error(
        iam(&directory, &root(), "CreateUser", &[]).await,
        "ValidationError",
        "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null",
    );
    assert_eq!(
        iam(&directory, &root(), "CreateUser", &[("UserName", "a/b")])
            .await
            .unwrap_err()
            .code,
        "ValidationError"
    );
    assert_eq!(
        iam(
            &directory,
            &root(),
            "CreateUser",
            &[("UserName", "x"), ("Path", "team")]
        )
        .await
        .unwrap_err()
        .code,
        "ValidationError"
    );

    for name in ["carol", "bob"] {
        iam(&directory, &root(), "CreateUser", &[("UserName", name)])
            .await
            .unwrap();
    }
    let first = iam(&directory, &root(), "ListUsers", &[("MaxItems", "2")])
        .await
        .unwrap();
    let names: Vec<&str> = first["Users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["UserName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Alice", "bob"]);
    assert_eq!(first["IsTruncated"], true);
    let marker = first["Marker"].as_str().unwrap();
    let rest = iam(
        &directory,
        &root(),
        "ListUsers",
        &[("MaxItems", "2"), ("Marker", marker)],
    )
    .await
    .unwrap();
    assert_eq!(rest["Users"][0]["UserName"], "carol");
    assert_eq!(rest["IsTruncated"], false);
    assert!(rest.get("Marker").is_none());
    let team = iam(
        &directory,
        &root(),
        "ListUsers",
        &[("PathPrefix", "/team/")],
    )
    .await
    .unwrap();
    assert_eq!(team["Users"].as_array().unwrap().len(), 1);

    let other = Principal::root(OTHER);
    let elsewhere = iam(&directory, &other, "ListUsers", &[]).await.unwrap();
    assert_eq!(elsewhere["Users"], json!([]));

    assert_eq!(
        iam(&directory, &root(), "DeleteUser", &[("UserName", "bob")])
            .await
            .unwrap(),
        Value::Null
    );
    assert_eq!(
        iam(&directory, &root(), "DeleteUser", &[("UserName", "bob")])
            .await
            .unwrap_err()
            .code,
        "NoSuchEntity"
    );
}

#[tokio::test]
async fn get_user_without_a_name_is_the_caller() {
    let directory = directory();
    let alice = user_caller(&directory, ACCOUNT, "alice").await;
    let me = iam(&directory, &alice, "GetUser", &[]).await.unwrap();
    assert_eq!(me["User"]["UserName"], "alice");
    let as_root = iam(&directory, &root(), "GetUser", &[]).await.unwrap();
    assert_eq!(as_root["User"]["Arn"], "arn:aws:iam::111122223333:root");
    assert_eq!(as_root["User"]["UserId"], ACCOUNT);
}

#[tokio::test]
async fn a_user_with_keys_policies_or_groups_cannot_be_deleted() {
    let directory = directory();
    iam(&directory, &root(), "CreateUser", &[("UserName", "alice")])
        .await
        .unwrap();
    let key = iam(
        &directory,
        &root(),
        "CreateAccessKey",
        &[("UserName", "alice")],
    )
    .await
    .unwrap();
    let key_id = key["AccessKey"]["AccessKeyId"]
        .as_str()
        .unwrap()
        .to_string();
    assert_error(
        iam(&directory, &root(), "DeleteUser", &[("UserName", "alice")]).await,
        "DeleteConflict",
        "Cannot delete entity, must delete access keys first.",
    );
    iam(
        &directory,
        &root(),
        "DeleteAccessKey",
        &[("UserName", "alice"), ("AccessKeyId", &key_id)],
    )
    .await
    .unwrap();
    assert!(directory.credentials(&key_id).await.unwrap().is_none());

    let document = r#"{"Statement":{"Effect":"Allow","Action":"sqs:*","Resource":"*"}}"#;
    iam(
        &directory,
        &root(),
        "PutUserPolicy",
        &[
            ("UserName", "alice"),
            ("PolicyName", "p"),
            ("PolicyDocument", document),
        ],
    )
    .await
    .unwrap();
    assert_error(
        iam(&directory, &root(), "DeleteUser", &[("UserName", "alice")]).await,
        "DeleteConflict",
        "Cannot delete entity, must delete policies first.",
    );
    iam(
        &directory,
        &root(),
        "DeleteUserPolicy",
        &[("UserName", "alice"), ("PolicyName", "p")],
    )
    .await
    .unwrap();

    iam(&directory, &root(), "CreateGroup", &[("GroupName", "g")])
        .await
        .unwrap();
    iam(
        &directory,
        &root(),
        "AddUserToGroup",
        &[("GroupName", "g"), ("UserName", "alice")],
    )
    .await
    .unwrap();
    assert_eq!(
        iam(&directory, &root(), "DeleteUser", &[("UserName", "alice")])
            .await
            .unwrap_err()
            .code,
        "DeleteConflict"
    );
    iam(
        &directory,
        &root(),
        "RemoveUserFromGroup",
        &[("GroupName", "g"), ("UserName", "alice")],
    )
    .await
    .unwrap();
    iam(&directory, &root(), "DeleteUser", &[("UserName", "alice")])
        .await
        .unwrap();
}

#[tokio::test]
async fn access_keys_are_created_listed_updated_and_limited() {
    let directory = directory();
    iam(&directory, &root(), "CreateUser", &[("UserName", "alice")])
        .await
        .unwrap();
    let created = iam(
        &directory,
        &root(),
        "CreateAccessKey",
        &[("UserName", "alice")],
    )
    .await
    .unwrap();
    let key = &created["AccessKey"];
    assert_eq!(key["UserName"], "alice");
    assert_eq!(key["Status"], "Active");
    let key_id = key["AccessKeyId"].as_str().unwrap().to_string();
    let secret = key["SecretAccessKey"].as_str().unwrap().to_string();
    assert!(key_id.starts_with("AKIA"));

    let credentials = directory.credentials(&key_id).await.unwrap().unwrap();
    assert_eq!(credentials.secret_access_key, secret);
    assert_eq!(credentials.principal.name.as_deref(), Some("alice"));

    iam(
        &directory,
        &root(),
        "CreateAccessKey",
        &[("UserName", "alice")],
    )
    .await
    .unwrap();
    assert_error(
        iam(
            &directory,
            &root(),
            "CreateAccessKey",
            &[("UserName", "alice")],
        )
        .await,
        "LimitExceeded",
        "Cannot exceed quota for AccessKeysPerUser: 2",
    );

    let listed = iam(
        &directory,
        &root(),
        "ListAccessKeys",
        &[("UserName", "alice")],
    )
    .await
    .unwrap();
    let keys = listed["AccessKeyMetadata"].as_array().unwrap();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|k| k.get("SecretAccessKey").is_none()));
    assert!(keys.iter().any(|k| k["AccessKeyId"] == key_id.as_str()));

    // A user acting on its own keys names no user.
    let alice = credentials.principal;
    iam(
        &directory,
        &alice,
        "UpdateAccessKey",
        &[("AccessKeyId", &key_id), ("Status", "Inactive")],
    )
    .await
    .unwrap();
    assert!(
        !directory
            .credentials(&key_id)
            .await
            .unwrap()
            .unwrap()
            .active
    );
    let listed = iam(&directory, &alice, "ListAccessKeys", &[])
        .await
        .unwrap();
    assert!(listed["AccessKeyMetadata"]
        .as_array()
        .unwrap()
        .iter()
        .any(|k| k["Status"] == "Inactive"));
    assert_eq!(
        iam(
            &directory,
            &alice,
            "UpdateAccessKey",
            &[("AccessKeyId", &key_id), ("Status", "Paused")],
        )
        .await
        .unwrap_err()
        .code,
        "ValidationError"
    );

    // Another user's key is not found under this user.
    iam(&directory, &root(), "CreateUser", &[("UserName", "bob")])
        .await
        .unwrap();
    assert_error(
        iam(
            &directory,
            &root(),
            "DeleteAccessKey",
            &[("UserName", "bob"), ("AccessKeyId", &key_id)],
        )
        .await,
        "NoSuchEntity",
        &format!("The Access Key with id {key_id} cannot be found."),
    );
}

#[tokio::test]
async fn root_keys_are_made_by_root_naming_no_user() {
    let directory = directory();
    directory.create_root_key(ACCOUNT, NOW).await.unwrap();
    let created = iam(&directory, &root(), "CreateAccessKey", &[])
        .await
        .unwrap();
    assert!(created["AccessKey"].get("UserName").is_none());
    let key_id = created["AccessKey"]["AccessKeyId"].as_str().unwrap();
    let credentials = directory.credentials(key_id).await.unwrap().unwrap();
    assert_eq!(credentials.principal, root());
    assert_eq!(
        iam(&directory, &root(), "CreateAccessKey", &[])
            .await
            .unwrap_err()
            .code,
        "LimitExceeded"
    );
    let listed = iam(&directory, &root(), "ListAccessKeys", &[])
        .await
        .unwrap();
    assert_eq!(listed["AccessKeyMetadata"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn root_keys_of_an_account_not_stored_yet() {
    let directory = directory();
    let created = iam(&directory, &root(), "CreateAccessKey", &[])
        .await
        .unwrap();
    let key_id = created["AccessKey"]["AccessKeyId"].as_str().unwrap();
    assert_eq!(
        directory
            .credentials(key_id)
            .await
            .unwrap()
            .unwrap()
            .principal,
        root()
    );
    assert!(directory.has_accounts().await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_key_quota_holds_under_concurrent_creates() {
    let directory = Arc::new(directory());
    iam(&directory, &root(), "CreateUser", &[("UserName", "alice")])
        .await
        .unwrap();
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let directory = directory.clone();
            tokio::spawn(async move {
                iam(
                    &directory,
                    &root(),
                    "CreateAccessKey",
                    &[("UserName", "alice")],
                )
                .await
            })
        })
        .collect();
    let mut created = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => created += 1,
            Err(error) => assert_eq!(error.code, "LimitExceeded"),
        }
    }
    assert_eq!(created, 2);
    let listed = iam(
        &directory,
        &root(),
        "ListAccessKeys",
        &[("UserName", "alice")],
    )
    .await
    .unwrap();
    assert_eq!(listed["AccessKeyMetadata"].as_array().unwrap().len(), 2);
}
