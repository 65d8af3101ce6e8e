//! The SQS API as Sluice's layers share it: the operations, their typed inputs and outputs, the request
//! context, and the AWS error codes.
//!
//! Nothing here knows a wire format or a storage engine. The protocol layer decodes JSON 1.0 and Query
//! requests into these inputs and renders these outputs; the queue layer consumes and produces them.

mod context;
mod error;
mod operation;
pub mod types;

pub use context::{Identity, RequestContext};
pub use error::{ApiError, ErrorCode};
pub use operation::Operation;
