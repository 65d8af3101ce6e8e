//! The IAM policy language. A document is parsed once, when it is stored, into a typed `Policy`
//! (a document that does not parse is refused then, with IAM's wording); evaluating a request is a
//! pure function of the request's facts and the policies that apply to it, `evaluate`, with no
//! I/O, no clock and no store inside, so that AWS's evaluation logic is testable from tables.

mod condition;
mod document;
mod evaluate;
mod facts;
mod pattern;

pub use condition::{Condition, Operator, Qualifier};
pub use document::{Effect, Grammar, Policy, PolicyError, Principals, Statement, Version};
pub use evaluate::{evaluate, resource_policy_admits, Decision, Policies, PolicyType, Request};
pub use facts::Facts;
pub use pattern::Pattern;
