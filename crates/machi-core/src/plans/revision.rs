//! 改定: what changed between two editions of a plan, node by node, so that the history says
//! which headings were added, removed or rewritten and in which of their fields.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::{Node, Plan};

/// A heading named in a revision.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeRef {
    pub id: String,
    pub label: String,
    pub title: String,
}

/// A heading whose own fields changed (children are compared on their own).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NodeChange {
    #[serde(flatten)]
    pub node: NodeRef,
    /// The fields of the node that differ (`title`, `kpis`, `owners` …).
    pub fields: Vec<String>,
}

/// The changes of one revision.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanChanges {
    pub added: Vec<NodeRef>,
    pub removed: Vec<NodeRef>,
    pub changed: Vec<NodeChange>,
    /// Fields of the plan's header that differ (`title`, `period` …).
    pub header: Vec<String>,
}

impl PlanChanges {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty()
            && self.removed.is_empty()
            && self.changed.is_empty()
            && self.header.is_empty()
    }
}

fn node_ref(node: &Node) -> NodeRef {
    NodeRef {
        id: node.id.clone(),
        label: node.label.clone(),
        title: node.title.clone(),
    }
}

/// The keys whose values differ between two JSON objects, in key order.
fn differing_fields(before: &Json, after: &Json) -> Vec<String> {
    let empty = serde_json::Map::new();
    let before = before.as_object().unwrap_or(&empty);
    let after = after.as_object().unwrap_or(&empty);
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| *k != "children" && before.get(*k) != after.get(*k))
        .cloned()
        .collect()
}

fn own_fields(node: &Node) -> Json {
    serde_json::to_value(node).unwrap_or(Json::Null)
}

/// What changed from `before` to `after`; nodes are matched by id.
pub fn changes(before: &Plan, after: &Plan) -> PlanChanges {
    let old: BTreeMap<&str, &Node> = before
        .walk()
        .into_iter()
        .map(|(_, n)| (n.id.as_str(), n))
        .collect();
    let new_walk = after.walk();
    let mut changes = PlanChanges::default();
    for (_, node) in &new_walk {
        match old.get(node.id.as_str()) {
            None => changes.added.push(node_ref(node)),
            Some(previous) => {
                let fields = differing_fields(&own_fields(previous), &own_fields(node));
                if !fields.is_empty() {
                    changes.changed.push(NodeChange {
                        node: node_ref(node),
                        fields,
                    });
                }
            }
        }
    }
    let kept: std::collections::HashSet<&str> =
        new_walk.iter().map(|(_, n)| n.id.as_str()).collect();
    changes.removed = before
        .walk()
        .into_iter()
        .filter(|(_, n)| !kept.contains(n.id.as_str()))
        .map(|(_, n)| node_ref(n))
        .collect();
    let header = |plan: &Plan| serde_json::to_value(&plan.plan).unwrap_or(Json::Null);
    changes.header = differing_fields(&header(before), &header(after));
    changes
}
