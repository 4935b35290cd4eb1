//! YAML documents as plain trees that remember the line of each node, so
//! that every refusal names where in the file it is.
//!
//! The parser is `saphyr`: maintained, YAML 1.2 (so `yes` and `on` stay
//! strings), refuses duplicate keys, bounds alias expansion, and gives every
//! node its position.

use saphyr::{LoadableYamlNode, MarkedYaml, Scalar, YamlData};

/// One YAML node and the line (1-based) it starts on.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub line: usize,
    pub value: Yaml,
}

/// A YAML value.
#[derive(Debug, Clone, PartialEq)]
pub enum Yaml {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// In file order; keys are scalars written as text.
    Map(Vec<(String, Node)>),
}

impl Node {
    /// The value under `key` when this is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Yaml::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The text of a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Yaml::Str(s) => Some(s),
            _ => None,
        }
    }

    /// What kind of value this is, for messages.
    pub fn kind(&self) -> &'static str {
        match self.value {
            Yaml::Null => "null",
            Yaml::Bool(_) => "a boolean",
            Yaml::Int(_) | Yaml::Float(_) => "a number",
            Yaml::Str(_) => "a string",
            Yaml::Seq(_) => "a list",
            Yaml::Map(_) => "a mapping",
        }
    }
}

/// Every document of a YAML stream; an error is (line, message).
pub fn documents(text: &str) -> Result<Vec<Node>, (usize, String)> {
    let docs = MarkedYaml::load_from_str(text).map_err(|e| (e.marker().line(), e.info().to_string()))?;
    docs.iter().map(convert).collect()
}

fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        Yaml::Str(s) => Some(s.clone()),
        Yaml::Int(i) => Some(i.to_string()),
        Yaml::Bool(b) => Some(b.to_string()),
        Yaml::Float(f) => Some(f.to_string()),
        Yaml::Null => Some(String::new()),
        _ => None,
    }
}

fn convert(node: &MarkedYaml<'_>) -> Result<Node, (usize, String)> {
    let line = node.span.start.line();
    let value = match &node.data {
        YamlData::Value(Scalar::Null) => Yaml::Null,
        YamlData::Value(Scalar::Boolean(b)) => Yaml::Bool(*b),
        YamlData::Value(Scalar::Integer(i)) => Yaml::Int(*i),
        YamlData::Value(Scalar::FloatingPoint(f)) => Yaml::Float(f.into_inner()),
        YamlData::Value(Scalar::String(s)) => Yaml::Str(s.to_string()),
        YamlData::Sequence(items) => Yaml::Seq(items.iter().map(convert).collect::<Result<_, _>>()?),
        YamlData::Mapping(entries) => {
            let mut out = Vec::with_capacity(entries.len());
            for (k, v) in entries {
                let key = convert(k)?;
                let text = scalar_text(&key).ok_or((key.line, format!("a mapping key is {}", key.kind())))?;
                out.push((text, convert(v)?));
            }
            Yaml::Map(out)
        }
        YamlData::Tagged(tag, _) => return Err((line, format!("YAML tags ({tag}) are not supported"))),
        YamlData::Alias(_) => return Err((line, "YAML aliases are not supported".into())),
        YamlData::Representation(..) | YamlData::BadValue => {
            return Err((line, "a value that is not valid YAML".into()));
        }
    };
    Ok(Node { line, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_keep_lines_types_and_order() {
        let docs = documents("a: 1\nb:\n  - x\n  - yes\n---\nc: null\n").unwrap();
        assert_eq!(docs.len(), 2);
        let b = docs[0].get("b").unwrap();
        assert_eq!(b.line, 3);
        assert_eq!(b, &Node { line: 3, value: b.value.clone() });
        match &b.value {
            Yaml::Seq(items) => assert_eq!(items[1].as_str(), Some("yes")),
            other => panic!("{other:?}"),
        }
        assert_eq!(docs[0].get("a").unwrap().value, Yaml::Int(1));
        assert_eq!(docs[1].get("c").unwrap().value, Yaml::Null);
    }

    #[test]
    fn bad_yaml_and_duplicate_keys_name_the_line() {
        let (line, message) = documents("a: 1\nb: [1,\n").unwrap_err();
        assert!(line >= 2, "{line} {message}");
        let (line, message) = documents("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert!(line >= 1 && message.to_lowercase().contains("duplicate"), "{line} {message}");
    }
}
