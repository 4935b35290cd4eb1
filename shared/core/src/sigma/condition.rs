//! A Sigma condition (`selection and not 1 of filter_*`) parsed into a tree
//! over the rule's search identifiers.
//!
//! Grammar, least binding first: `or`, `and`, `not`; parentheses; `1 of X`
//! and `all of X` where X is `them` (every identifier not starting with `_`)
//! or a name with `*` wildcards. Aggregations (`| count() > 5`, Sigma 1's
//! pipe syntax) are refused: correlation rules express them.

/// A condition over search identifiers (by index in the rule's list).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cond {
    Search(usize),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
}

impl Cond {
    /// Evaluates with `search(i)` telling whether identifier `i` matches.
    pub fn eval(&self, search: &mut dyn FnMut(usize) -> bool) -> bool {
        match self {
            Cond::Search(i) => search(*i),
            Cond::Not(inner) => !inner.eval(search),
            Cond::And(parts) => parts.iter().all(|p| p.eval(search)),
            Cond::Or(parts) => parts.iter().any(|p| p.eval(search)),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Token {
    Open,
    Close,
    Word(String),
}

fn tokens(text: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        if c == '(' || c == ')' || c.is_whitespace() {
            if !word.is_empty() {
                out.push(Token::Word(std::mem::take(&mut word)));
            }
            match c {
                '(' => out.push(Token::Open),
                ')' => out.push(Token::Close),
                _ => {}
            }
        } else if c == '|' {
            return Err("aggregation expressions ('| count() ...') are not supported; write a correlation rule".into());
        } else {
            word.push(c);
        }
    }
    if !word.is_empty() {
        out.push(Token::Word(word));
    }
    Ok(out)
}

struct Parser<'a> {
    tokens: Vec<Token>,
    at: usize,
    names: &'a [String],
}

/// Parses `text` against the rule's identifiers; an error says what is wrong.
pub fn parse(text: &str, names: &[String]) -> Result<Cond, String> {
    let mut p = Parser { tokens: tokens(text)?, at: 0, names };
    if p.tokens.is_empty() {
        return Err("the condition is empty".into());
    }
    let cond = p.or()?;
    match p.tokens.get(p.at) {
        None => Ok(cond),
        Some(t) => Err(format!("unexpected {} in the condition", show(t))),
    }
}

fn show(t: &Token) -> String {
    match t {
        Token::Open => "'('".into(),
        Token::Close => "')'".into(),
        Token::Word(w) => format!("'{w}'"),
    }
}

impl Parser<'_> {
    fn peek_word(&self, word: &str) -> bool {
        matches!(self.tokens.get(self.at), Some(Token::Word(w)) if w == word)
    }

    fn or(&mut self) -> Result<Cond, String> {
        let mut parts = vec![self.and()?];
        while self.peek_word("or") {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Cond::Or(parts) })
    }

    fn and(&mut self) -> Result<Cond, String> {
        let mut parts = vec![self.not()?];
        while self.peek_word("and") {
            self.at += 1;
            parts.push(self.not()?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Cond::And(parts) })
    }

    fn not(&mut self) -> Result<Cond, String> {
        if self.peek_word("not") {
            self.at += 1;
            return Ok(Cond::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Cond, String> {
        let token = self.tokens.get(self.at).cloned().ok_or("the condition ends early")?;
        self.at += 1;
        match token {
            Token::Open => {
                let inner = self.or()?;
                match self.tokens.get(self.at) {
                    Some(Token::Close) => {
                        self.at += 1;
                        Ok(inner)
                    }
                    _ => Err("a '(' is not closed".into()),
                }
            }
            Token::Close => Err("unexpected ')' in the condition".into()),
            Token::Word(w) if (w == "1" || w == "all") && self.peek_word("of") => {
                self.at += 1;
                let target = match self.tokens.get(self.at) {
                    Some(Token::Word(t)) => t.clone(),
                    _ => return Err(format!("'{w} of' needs a name pattern or 'them'")),
                };
                self.at += 1;
                let chosen = self.chosen(&target)?;
                Ok(if w == "all" { Cond::And(chosen) } else { Cond::Or(chosen) })
            }
            Token::Word(w) if matches!(w.as_str(), "and" | "or" | "not" | "of") => {
                Err(format!("unexpected '{w}' in the condition"))
            }
            Token::Word(w) => match self.names.iter().position(|n| *n == w) {
                Some(i) => Ok(Cond::Search(i)),
                None => Err(format!("the condition names '{w}', which the detection does not define")),
            },
        }
    }

    fn chosen(&self, target: &str) -> Result<Vec<Cond>, String> {
        let picked: Vec<Cond> = self
            .names
            .iter()
            .enumerate()
            .filter(|(_, n)| if target == "them" { !n.starts_with('_') } else { glob(target, n) })
            .map(|(i, _)| Cond::Search(i))
            .collect();
        if picked.is_empty() {
            return Err(format!("'{target}' in the condition matches no search identifier"));
        }
        Ok(picked)
    }
}

/// Whether `name` matches `pattern` where `*` is any run of characters.
fn glob(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for part in &parts[1..parts.len() - 1] {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        ["selection", "filter_a", "filter_b", "_hidden", "kw"].iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn conditions_parse_with_precedence_and_quantifiers() {
        use Cond::*;
        let n = names();
        let cases: &[(&str, Cond)] = &[
            ("selection", Search(0)),
            ("selection and not filter_a", And(vec![Search(0), Not(Box::new(Search(1)))])),
            ("selection or kw and filter_a", Or(vec![Search(0), And(vec![Search(4), Search(1)])])),
            ("(selection or kw) and filter_a", And(vec![Or(vec![Search(0), Search(4)]), Search(1)])),
            ("not not kw", Not(Box::new(Not(Box::new(Search(4)))))),
            ("1 of filter_*", Or(vec![Search(1), Search(2)])),
            ("all of filter*", And(vec![Search(1), Search(2)])),
            ("1 of them", Or(vec![Search(0), Search(1), Search(2), Search(4)])),
            ("all of them", And(vec![Search(0), Search(1), Search(2), Search(4)])),
            ("selection and not 1 of filter_*", And(vec![Search(0), Not(Box::new(Or(vec![Search(1), Search(2)])))])),
            ("1 of *_b", Or(vec![Search(2)])),
        ];
        for (text, expected) in cases {
            assert_eq!(&parse(text, &n).unwrap(), expected, "{text}");
        }
    }

    #[test]
    fn bad_conditions_say_why() {
        let n = names();
        let cases = [
            ("selection and", "ends early"),
            ("(selection", "not closed"),
            ("selection)", "unexpected ')'"),
            ("nope", "'nope'"),
            ("1 of zz*", "matches no search identifier"),
            ("selection | count() > 5", "aggregation"),
            ("", "empty"),
            ("selection filter_a", "unexpected 'filter_a'"),
        ];
        for (text, needle) in cases {
            let err = parse(text, &n).unwrap_err();
            assert!(err.contains(needle), "{text}: {err}");
        }
    }

    #[test]
    fn eval_follows_the_tree() {
        let n = names();
        let cond = parse("selection and not 1 of filter_*", &n).unwrap();
        assert!(cond.eval(&mut |i| i == 0));
        assert!(!cond.eval(&mut |i| i == 0 || i == 2));
    }
}
