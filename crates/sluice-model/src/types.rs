//! Typed inputs and outputs of the 23 SQS operations. Field names on the wire are the members of the
//! service model; both protocols decode into and render from these types.

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Operation;

/// A `blob` member: raw bytes, written as base64 in both protocols.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Blob(pub Vec<u8>);

impl Serialize for Blob {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Blob {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(Blob)
            .map_err(|_| serde::de::Error::custom("invalid base64 in a binary value"))
    }
}

pub type AttributeMap = BTreeMap<String, String>;
pub type TagMap = BTreeMap<String, String>;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateQueueInput {
    pub queue_name: String,
    #[serde(default)]
    pub attributes: AttributeMap,
    #[serde(default, rename = "tags")]
    pub tags: TagMap,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueUrlOutput {
    pub queue_url: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueUrlInput {
    pub queue_name: String,
    #[serde(default, rename = "QueueOwnerAWSAccountId")]
    pub queue_owner_aws_account_id: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesInput {
    #[serde(default)]
    pub queue_name_prefix: Option<String>,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i64>,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueuesOutput {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub queue_urls: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

/// The input of every operation that names only a queue: DeleteQueue, PurgeQueue, ListQueueTags.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct QueueUrlInput {
    pub queue_url: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueAttributesInput {
    pub queue_url: String,
    #[serde(default)]
    pub attribute_names: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetQueueAttributesOutput {
    #[serde(skip_serializing_if = "Vec::is_empty", serialize_with = "ordered_map")]
    pub attributes: Vec<(String, String)>,
}

/// Writes name/value pairs as a map in the order given, the order AWS lists queue attributes in.
fn ordered_map<S: Serializer>(
    pairs: &[(String, String)],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_map(pairs.iter().map(|(k, v)| (k, v)))
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SetQueueAttributesInput {
    pub queue_url: String,
    #[serde(default)]
    pub attributes: AttributeMap,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagQueueInput {
    pub queue_url: String,
    #[serde(default)]
    pub tags: TagMap,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagQueueInput {
    pub queue_url: String,
    #[serde(default)]
    pub tag_keys: Vec<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListQueueTagsOutput {
    #[serde(skip_serializing_if = "TagMap::is_empty")]
    pub tags: TagMap,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddPermissionInput {
    pub queue_url: String,
    pub label: String,
    #[serde(default, rename = "AWSAccountIds")]
    pub aws_account_ids: Vec<String>,
    #[serde(default)]
    pub actions: Vec<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemovePermissionInput {
    pub queue_url: String,
    pub label: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDeadLetterSourceQueuesInput {
    pub queue_url: String,
    #[serde(default)]
    pub next_token: Option<String>,
    #[serde(default)]
    pub max_results: Option<i64>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ListDeadLetterSourceQueuesOutput {
    #[serde(rename = "queueUrls")]
    pub queue_urls: Vec<String>,
    #[serde(rename = "NextToken", skip_serializing_if = "Option::is_none")]
    pub next_token: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct MessageAttributeValue {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub string_value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binary_value: Option<Blob>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub string_list_values: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub binary_list_values: Vec<Blob>,
    pub data_type: String,
}

pub type MessageAttributeMap = BTreeMap<String, MessageAttributeValue>;

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageInput {
    pub queue_url: String,
    pub message_body: String,
    #[serde(default)]
    pub delay_seconds: Option<i64>,
    #[serde(default)]
    pub message_attributes: MessageAttributeMap,
    #[serde(default)]
    pub message_system_attributes: MessageAttributeMap,
    #[serde(default)]
    pub message_deduplication_id: Option<String>,
    #[serde(default)]
    pub message_group_id: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct SendMessageOutput {
    #[serde(rename = "MessageId")]
    pub message_id: String,
    #[serde(rename = "MD5OfMessageBody")]
    pub md5_of_message_body: String,
    #[serde(
        rename = "MD5OfMessageAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    pub md5_of_message_attributes: Option<String>,
    #[serde(
        rename = "MD5OfMessageSystemAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    pub md5_of_message_system_attributes: Option<String>,
    #[serde(rename = "SequenceNumber", skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageBatchRequestEntry {
    pub id: String,
    pub message_body: String,
    #[serde(default)]
    pub delay_seconds: Option<i64>,
    #[serde(default)]
    pub message_attributes: MessageAttributeMap,
    #[serde(default)]
    pub message_system_attributes: MessageAttributeMap,
    #[serde(default)]
    pub message_deduplication_id: Option<String>,
    #[serde(default)]
    pub message_group_id: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageBatchInput {
    pub queue_url: String,
    #[serde(default)]
    pub entries: Vec<SendMessageBatchRequestEntry>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct SendMessageBatchResultEntry {
    #[serde(rename = "Id")]
    pub id: String,
    #[serde(flatten)]
    pub result: SendMessageOutput,
}

/// A per-entry failure of a batch operation.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResultErrorEntry {
    pub id: String,
    pub sender_fault: bool,
    pub code: String,
    pub message: String,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SendMessageBatchOutput {
    // SQS leaves out whichever of the two lists is empty (over JSON; over Query an empty flattened list
    // writes nothing either way).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub successful: Vec<SendMessageBatchResultEntry>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failed: Vec<BatchResultErrorEntry>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveMessageInput {
    pub queue_url: String,
    #[serde(default)]
    pub attribute_names: Vec<String>,
    #[serde(default)]
    pub message_system_attribute_names: Vec<String>,
    #[serde(default)]
    pub message_attribute_names: Vec<String>,
    #[serde(default)]
    pub max_number_of_messages: Option<i64>,
    #[serde(default)]
    pub visibility_timeout: Option<i64>,
    #[serde(default)]
    pub wait_time_seconds: Option<i64>,
    #[serde(default)]
    pub receive_request_attempt_id: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Message {
    #[serde(rename = "MessageId")]
    pub message_id: String,
    #[serde(rename = "ReceiptHandle")]
    pub receipt_handle: String,
    #[serde(rename = "MD5OfBody")]
    pub md5_of_body: String,
    #[serde(rename = "Body")]
    pub body: String,
    #[serde(
        rename = "Attributes",
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "ordered_map"
    )]
    pub attributes: Vec<(String, String)>,
    #[serde(
        rename = "MD5OfMessageAttributes",
        skip_serializing_if = "Option::is_none"
    )]
    pub md5_of_message_attributes: Option<String>,
    #[serde(
        rename = "MessageAttributes",
        skip_serializing_if = "MessageAttributeMap::is_empty"
    )]
    pub message_attributes: MessageAttributeMap,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReceiveMessageOutput {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<Message>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMessageInput {
    pub queue_url: String,
    pub receipt_handle: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMessageBatchRequestEntry {
    pub id: String,
    pub receipt_handle: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteMessageBatchInput {
    pub queue_url: String,
    #[serde(default)]
    pub entries: Vec<DeleteMessageBatchRequestEntry>,
}

/// A successful entry of DeleteMessageBatch or ChangeMessageVisibilityBatch.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchResultEntry {
    pub id: String,
}

/// The output of DeleteMessageBatch and ChangeMessageVisibilityBatch.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct BatchOutput {
    pub successful: Vec<BatchResultEntry>,
    pub failed: Vec<BatchResultErrorEntry>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeMessageVisibilityInput {
    pub queue_url: String,
    pub receipt_handle: String,
    pub visibility_timeout: i64,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeMessageVisibilityBatchRequestEntry {
    pub id: String,
    pub receipt_handle: String,
    #[serde(default)]
    pub visibility_timeout: Option<i64>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeMessageVisibilityBatchInput {
    pub queue_url: String,
    #[serde(default)]
    pub entries: Vec<ChangeMessageVisibilityBatchRequestEntry>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartMessageMoveTaskInput {
    pub source_arn: String,
    #[serde(default)]
    pub destination_arn: Option<String>,
    #[serde(default)]
    pub max_number_of_messages_per_second: Option<i64>,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartMessageMoveTaskOutput {
    pub task_handle: String,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelMessageMoveTaskInput {
    pub task_handle: String,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CancelMessageMoveTaskOutput {
    pub approximate_number_of_messages_moved: i64,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMessageMoveTasksInput {
    pub source_arn: String,
    #[serde(default)]
    pub max_results: Option<i64>,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMessageMoveTasksResultEntry {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_handle: Option<String>,
    pub status: String,
    pub source_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub destination_arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_number_of_messages_per_second: Option<i64>,
    pub approximate_number_of_messages_moved: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub approximate_number_of_messages_to_move: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    pub started_timestamp: i64,
}

#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListMessageMoveTasksOutput {
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub results: Vec<ListMessageMoveTasksResultEntry>,
}

/// An operation's typed input, as the protocol layer decodes it.
#[derive(Clone, Debug)]
pub enum Request {
    AddPermission(AddPermissionInput),
    CancelMessageMoveTask(CancelMessageMoveTaskInput),
    ChangeMessageVisibility(ChangeMessageVisibilityInput),
    ChangeMessageVisibilityBatch(ChangeMessageVisibilityBatchInput),
    CreateQueue(CreateQueueInput),
    DeleteMessage(DeleteMessageInput),
    DeleteMessageBatch(DeleteMessageBatchInput),
    DeleteQueue(QueueUrlInput),
    GetQueueAttributes(GetQueueAttributesInput),
    GetQueueUrl(GetQueueUrlInput),
    ListDeadLetterSourceQueues(ListDeadLetterSourceQueuesInput),
    ListMessageMoveTasks(ListMessageMoveTasksInput),
    ListQueueTags(QueueUrlInput),
    ListQueues(ListQueuesInput),
    PurgeQueue(QueueUrlInput),
    ReceiveMessage(ReceiveMessageInput),
    RemovePermission(RemovePermissionInput),
    SendMessage(SendMessageInput),
    SendMessageBatch(SendMessageBatchInput),
    SetQueueAttributes(SetQueueAttributesInput),
    StartMessageMoveTask(StartMessageMoveTaskInput),
    TagQueue(TagQueueInput),
    UntagQueue(UntagQueueInput),
}

impl Request {
    /// The queue the request names, as it names it: a queue URL, a queue name (CreateQueue,
    /// GetQueueUrl) or a queue ARN (the move-task actions); `None` for ListQueues and
    /// CancelMessageMoveTask.
    pub fn queue(&self) -> Option<&str> {
        use Request as R;
        let named = match self {
            R::CreateQueue(i) => &i.queue_name,
            R::GetQueueUrl(i) => &i.queue_name,
            R::StartMessageMoveTask(i) => &i.source_arn,
            R::ListMessageMoveTasks(i) => &i.source_arn,
            R::ListQueues(_) | R::CancelMessageMoveTask(_) => return None,
            R::AddPermission(i) => &i.queue_url,
            R::ChangeMessageVisibility(i) => &i.queue_url,
            R::ChangeMessageVisibilityBatch(i) => &i.queue_url,
            R::DeleteMessage(i) => &i.queue_url,
            R::DeleteMessageBatch(i) => &i.queue_url,
            R::DeleteQueue(i) => &i.queue_url,
            R::GetQueueAttributes(i) => &i.queue_url,
            R::ListDeadLetterSourceQueues(i) => &i.queue_url,
            R::ListQueueTags(i) => &i.queue_url,
            R::PurgeQueue(i) => &i.queue_url,
            R::ReceiveMessage(i) => &i.queue_url,
            R::RemovePermission(i) => &i.queue_url,
            R::SendMessage(i) => &i.queue_url,
            R::SendMessageBatch(i) => &i.queue_url,
            R::SetQueueAttributes(i) => &i.queue_url,
            R::TagQueue(i) => &i.queue_url,
            R::UntagQueue(i) => &i.queue_url,
        };
        Some(named)
    }

    pub fn operation(&self) -> Operation {
        match self {
            Request::AddPermission(_) => Operation::AddPermission,
            Request::CancelMessageMoveTask(_) => Operation::CancelMessageMoveTask,
            Request::ChangeMessageVisibility(_) => Operation::ChangeMessageVisibility,
            Request::ChangeMessageVisibilityBatch(_) => Operation::ChangeMessageVisibilityBatch,
            Request::CreateQueue(_) => Operation::CreateQueue,
            Request::DeleteMessage(_) => Operation::DeleteMessage,
            Request::DeleteMessageBatch(_) => Operation::DeleteMessageBatch,
            Request::DeleteQueue(_) => Operation::DeleteQueue,
            Request::GetQueueAttributes(_) => Operation::GetQueueAttributes,
            Request::GetQueueUrl(_) => Operation::GetQueueUrl,
            Request::ListDeadLetterSourceQueues(_) => Operation::ListDeadLetterSourceQueues,
            Request::ListMessageMoveTasks(_) => Operation::ListMessageMoveTasks,
            Request::ListQueueTags(_) => Operation::ListQueueTags,
            Request::ListQueues(_) => Operation::ListQueues,
            Request::PurgeQueue(_) => Operation::PurgeQueue,
            Request::ReceiveMessage(_) => Operation::ReceiveMessage,
            Request::RemovePermission(_) => Operation::RemovePermission,
            Request::SendMessage(_) => Operation::SendMessage,
            Request::SendMessageBatch(_) => Operation::SendMessageBatch,
            Request::SetQueueAttributes(_) => Operation::SetQueueAttributes,
            Request::StartMessageMoveTask(_) => Operation::StartMessageMoveTask,
            Request::TagQueue(_) => Operation::TagQueue,
            Request::UntagQueue(_) => Operation::UntagQueue,
        }
    }
}

/// An operation's typed output, as the protocol layer renders it. Operations whose model has no output
/// answer `Empty`.
#[derive(Clone, Debug)]
pub enum Response {
    Empty,
    QueueUrl(QueueUrlOutput),
    ListQueues(ListQueuesOutput),
    GetQueueAttributes(GetQueueAttributesOutput),
    ListQueueTags(ListQueueTagsOutput),
    ListDeadLetterSourceQueues(ListDeadLetterSourceQueuesOutput),
    SendMessage(SendMessageOutput),
    SendMessageBatch(SendMessageBatchOutput),
    ReceiveMessage(ReceiveMessageOutput),
    Batch(BatchOutput),
    StartMessageMoveTask(StartMessageMoveTaskOutput),
    CancelMessageMoveTask(CancelMessageMoveTaskOutput),
    ListMessageMoveTasks(ListMessageMoveTasksOutput),
}

impl Response {
    /// The output as AWS JSON 1.0 bytes, written straight from the typed output.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        let bytes = match self {
            Response::Empty => return b"{}".to_vec(),
            Response::QueueUrl(o) => serde_json::to_vec(o),
            Response::ListQueues(o) => serde_json::to_vec(o),
            Response::GetQueueAttributes(o) => serde_json::to_vec(o),
            Response::ListQueueTags(o) => serde_json::to_vec(o),
            Response::ListDeadLetterSourceQueues(o) => serde_json::to_vec(o),
            Response::SendMessage(o) => serde_json::to_vec(o),
            Response::SendMessageBatch(o) => serde_json::to_vec(o),
            Response::ReceiveMessage(o) => serde_json::to_vec(o),
            Response::Batch(o) => serde_json::to_vec(o),
            Response::StartMessageMoveTask(o) => serde_json::to_vec(o),
            Response::CancelMessageMoveTask(o) => serde_json::to_vec(o),
            Response::ListMessageMoveTasks(o) => serde_json::to_vec(o),
        };
        // As for `to_json`: these types always serialise.
        bytes.unwrap_or_else(|_| b"{}".to_vec())
    }

    /// The output as a JSON value with members in the order they are written on the wire.
    pub fn to_json(&self) -> serde_json::Value {
        let value = match self {
            Response::Empty => return serde_json::Value::Object(Default::default()),
            Response::QueueUrl(o) => serde_json::to_value(o),
            Response::ListQueues(o) => serde_json::to_value(o),
            Response::GetQueueAttributes(o) => serde_json::to_value(o),
            Response::ListQueueTags(o) => serde_json::to_value(o),
            Response::ListDeadLetterSourceQueues(o) => serde_json::to_value(o),
            Response::SendMessage(o) => serde_json::to_value(o),
            Response::SendMessageBatch(o) => serde_json::to_value(o),
            Response::ReceiveMessage(o) => serde_json::to_value(o),
            Response::Batch(o) => serde_json::to_value(o),
            Response::StartMessageMoveTask(o) => serde_json::to_value(o),
            Response::CancelMessageMoveTask(o) => serde_json::to_value(o),
            Response::ListMessageMoveTasks(o) => serde_json::to_value(o),
        };
        // These types hold only strings, integers, booleans, sequences and string-keyed maps, which
        // serde_json always represents.
        value.unwrap_or_else(|_| serde_json::Value::Object(Default::default()))
    }
}
