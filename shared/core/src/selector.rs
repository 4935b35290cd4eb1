//! Property selectors (`$.a.b[0]`, `$.a[*].b`): what a filter pattern
//! tests and what the record extractor pulls out, shared by both
//! ([`crate::pattern`] parses them, [`crate::extract`] interns them).

use std::fmt;

/// One step of a selector such as `$.a.b[0]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    /// `.name`
    Key(String),
    /// `[n]`
    Index(usize),
    /// `[*]` or `.*`: every element or member.
    AnyChild,
}

/// A property selector: `$` followed by steps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub steps: Vec<Step>,
}

impl fmt::Display for Selector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for step in &self.steps {
            match step {
                Step::Key(k) => write!(f, ".{k}")?,
                Step::Index(i) => write!(f, "[{i}]")?,
                Step::AnyChild => f.write_str("[*]")?,
            }
        }
        Ok(())
    }
}
