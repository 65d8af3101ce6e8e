//! The service model that drives both wire formats: which members each operation's input and output has,
//! their types, and the names lists, maps and members take in Query forms and XML.
//!
//! `model/sqs.json` is compacted from AWS's own service models by `scripts/compact-model.py`.

use std::collections::HashMap;
use std::sync::LazyLock;

use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct Model {
    pub operations: HashMap<String, OperationShapes>,
    pub shapes: HashMap<String, Shape>,
}

#[derive(Debug, Deserialize)]
pub struct OperationShapes {
    pub input: String,
    #[serde(default)]
    pub output: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Shape {
    #[serde(rename = "type")]
    pub kind: ShapeKind,
    #[serde(default)]
    pub flattened: bool,
    #[serde(default)]
    pub location_name: Option<String>,
    #[serde(default)]
    pub members: Vec<Member>,
    #[serde(default)]
    pub required: Vec<String>,
    #[serde(default)]
    pub member: Option<ShapeRef>,
    #[serde(default)]
    pub key: Option<ShapeRef>,
    #[serde(default)]
    pub value: Option<ShapeRef>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ShapeKind {
    Structure,
    List,
    Map,
    String,
    Integer,
    Long,
    Boolean,
    Blob,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    pub name: String,
    pub shape: String,
    #[serde(default)]
    pub location_name: Option<String>,
    #[serde(default)]
    pub flattened: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShapeRef {
    pub shape: String,
    #[serde(default)]
    pub location_name: Option<String>,
}

static MODEL: LazyLock<Model> = LazyLock::new(|| {
    serde_json::from_str(include_str!("../model/sqs.json"))
        .expect("the compiled-in service model is valid; the model_loads test checks it")
});

pub fn model() -> &'static Model {
    &MODEL
}

impl Model {
    pub fn shape(&self, name: &str) -> &Shape {
        self.shapes.get(name).expect(
            "every shape the model names is in the model; the model_is_closed test checks it",
        )
    }
}

impl Shape {
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }
}

impl Member {
    /// The name this member takes in a Query form and in XML: its own location name, else its shape's,
    /// else the member name.
    pub fn wire_name<'m>(&'m self, model: &'m Model) -> &'m str {
        self.location_name
            .as_deref()
            .or(model.shape(&self.shape).location_name.as_deref())
            .unwrap_or(&self.name)
    }

    /// Whether the member's list or map is written flattened (without a wrapping element).
    pub fn is_flattened(&self, model: &Model) -> bool {
        self.flattened || model.shape(&self.shape).flattened
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_loads() {
        assert_eq!(model().operations.len(), 23);
    }

    #[test]
    fn model_is_closed() {
        let m = model();
        for op in m.operations.values() {
            assert!(m.shapes.contains_key(&op.input));
            if let Some(out) = &op.output {
                assert!(m.shapes.contains_key(out));
            }
        }
        for shape in m.shapes.values() {
            for member in &shape.members {
                assert!(m.shapes.contains_key(&member.shape), "{}", member.shape);
            }
            for r in [&shape.member, &shape.key, &shape.value]
                .into_iter()
                .flatten()
            {
                assert!(m.shapes.contains_key(&r.shape), "{}", r.shape);
            }
        }
    }
}
