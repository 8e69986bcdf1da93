//! An answer held to its JSON schema while it is sampled: each token is
//! taken only if the answer stays the start of JSON of the schema's shape.
//! Small models rarely write a schema's JSON unaided (SmolLM2-135M almost
//! never does); with the shape enforced, every answer that finishes is
//! well-formed and names only the values an `enum` allows, and what the
//! model chooses is left to the model.
//!
//! The structured outputs our drafts ask for use a small part of JSON
//! Schema, and that part is what is enforced: objects (every property, in
//! the schema's order), arrays (`items`, `maxItems`) and strings (`enum`,
//! `maxLength`). A schema with anything else is not enforced at all: it
//! stays an instruction in the prompt, and the caller validates the answer
//! as it does for every provider.
//!
//! A free string is cut at [`TEXT_MAX`] characters when the schema sets
//! no `maxLength`: a small model otherwise repeats itself inside a string
//! until the token limit.

use serde_json::Value;

/// The longest free string written when the schema gives no `maxLength`:
/// a long sentence, twice over.
pub(crate) const TEXT_MAX: usize = 600;

/// Whitespace allowed in a row between two parts of the JSON (a newline
/// and indentation of pretty-printed output).
const SPACES_MAX: u8 = 16;

/// What a schema's value may be.
#[derive(Debug)]
enum Node {
    /// Properties (name, node), every one written, in this order.
    Object(Vec<(String, usize)>),
    Array {
        items: usize,
        max: Option<usize>,
    },
    Text {
        max: usize,
    },
    Choice(Vec<String>),
}

/// A compiled schema; the root is node 0.
#[derive(Debug)]
pub(crate) struct AnswerShape {
    nodes: Vec<Node>,
}

impl AnswerShape {
    /// The shape of `schema`, or `None` when it uses something this module
    /// does not enforce.
    pub(crate) fn of(schema: &Value) -> Option<Self> {
        let mut shape = Self { nodes: Vec::new() };
        shape.add(schema)?;
        Some(shape)
    }

    fn add(&mut self, schema: &Value) -> Option<usize> {
        let index = self.nodes.len();
        // A placeholder, replaced once the children have their indices.
        self.nodes.push(Node::Text { max: 0 });
        let count = |key: &str| schema.get(key).and_then(Value::as_u64).and_then(|n| usize::try_from(n).ok());
        let node = match schema.get("type")?.as_str()? {
            "object" => {
                let mut properties = Vec::new();
                for (name, property) in schema.get("properties").and_then(Value::as_object).into_iter().flatten() {
                    let child = self.add(property)?;
                    properties.push((name.clone(), child));
                }
                Node::Object(properties)
            }
            "array" => Node::Array { items: self.add(schema.get("items")?)?, max: count("maxItems") },
            "string" => match schema.get("enum") {
                Some(Value::Array(choices)) => {
                    let choices: Option<Vec<String>> =
                        choices.iter().map(|c| c.as_str().filter(|s| plain(s)).map(str::to_owned)).collect();
                    Node::Choice(choices?)
                }
                Some(_) => return None,
                None => Node::Text { max: count("maxLength").unwrap_or(TEXT_MAX) },
            },
            _ => return None,
        };
        self.nodes[index] = node;
        Some(index)
    }

    /// Where an answer starts: nothing written yet.
    pub(crate) fn start(&self) -> Written<'_> {
        Written { shape: self, stack: vec![Frame::Value(0)], choice: String::new(), spaces: 0 }
    }
}

/// A choice is written as is: no character JSON would escape.
fn plain(choice: &str) -> bool {
    !choice.chars().any(|c| c == '"' || c == '\\' || c.is_control())
}

#[derive(Clone, Copy, Debug)]
enum Frame {
    /// A value of this node comes next.
    Value(usize),
    Object {
        node: usize,
        property: usize,
        step: ObjectStep,
    },
    Array {
        node: usize,
        items: usize,
        step: ArrayStep,
    },
    Text {
        length: usize,
        max: usize,
        escape: Escape,
    },
    Choice(usize),
}

#[derive(Clone, Copy, Debug)]
enum ObjectStep {
    /// After `{` or `,`: the property's name comes next.
    BeforeName,
    /// Inside the property's name: this many bytes of it written.
    Name(usize),
    /// After the name: `:`.
    Colon,
    /// After the property's value: `,` or `}`.
    AfterValue,
}

#[derive(Clone, Copy, Debug)]
enum ArrayStep {
    /// After `[`: an item or `]`.
    Open,
    /// After an item: `,` or `]`.
    AfterItem,
    /// After `,`: an item.
    Comma,
}

#[derive(Clone, Copy, Debug)]
enum Escape {
    None,
    Backslash,
    /// `\u` and this many hex digits.
    Hex(u8),
}

/// An answer written so far, as a position in its shape. Cheap to clone:
/// trying a token is cloning and feeding it.
#[derive(Clone, Debug)]
pub(crate) struct Written<'s> {
    shape: &'s AnswerShape,
    /// Innermost last; empty once the answer is whole.
    stack: Vec<Frame>,
    /// The choice being written, when the innermost frame is one.
    choice: String,
    spaces: u8,
}

impl Written<'_> {
    /// The answer is one whole value: nothing more may be written.
    pub(crate) fn is_whole(&self) -> bool {
        self.stack.is_empty()
    }

    /// Writes `piece` if the answer stays the start of a value of its
    /// shape; `false` (and nothing written) if not. An empty piece writes
    /// nothing and is refused.
    pub(crate) fn write(&mut self, piece: &str) -> bool {
        if piece.is_empty() {
            return false;
        }
        let mut next = self.clone();
        if piece.chars().all(|c| next.take(c)) {
            *self = next;
            true
        } else {
            false
        }
    }

    /// Whether `piece` could be written next.
    pub(crate) fn allows(&self, piece: &str) -> bool {
        self.clone().write(piece)
    }

    /// Takes one character, or refuses it.
    fn take(&mut self, c: char) -> bool {
        let Some(top) = self.stack.last().copied() else { return false };
        let space = matches!(c, ' ' | '\n' | '\r' | '\t');
        let taken = match top {
            Frame::Text { .. } | Frame::Choice(_) => self.take_in_string(top, c),
            Frame::Object { step: ObjectStep::Name(_), .. } => self.take_in_string(top, c),
            _ if space => {
                self.spaces += 1;
                return self.spaces <= SPACES_MAX;
            }
            Frame::Value(node) => self.open(node, c),
            Frame::Object { node, property, step } => self.take_in_object(node, property, step, c),
            Frame::Array { node, items, step } => self.take_in_array(node, items, step, c),
        };
        if taken {
            self.spaces = 0;
        }
        taken
    }

    fn set_top(&mut self, frame: Frame) {
        if let Some(top) = self.stack.last_mut() {
            *top = frame;
        }
    }

    /// The innermost value is whole: back to what holds it.
    fn close_value(&mut self) {
        self.stack.pop();
    }

    /// The first character of a value of `node`.
    fn open(&mut self, node: usize, c: char) -> bool {
        let frame = match (&self.shape.nodes[node], c) {
            (Node::Object(_), '{') => Frame::Object { node, property: 0, step: ObjectStep::BeforeName },
            (Node::Array { .. }, '[') => Frame::Array { node, items: 0, step: ArrayStep::Open },
            (Node::Text { max }, '"') => Frame::Text { length: 0, max: *max, escape: Escape::None },
            (Node::Choice(_), '"') => {
                self.choice.clear();
                Frame::Choice(node)
            }
            _ => return false,
        };
        self.set_top(frame);
        true
    }

    fn take_in_object(&mut self, node: usize, property: usize, step: ObjectStep, c: char) -> bool {
        let Node::Object(properties) = &self.shape.nodes[node] else { return false };
        let frame = |property, step| Frame::Object { node, property, step };
        match (step, c) {
            (ObjectStep::BeforeName, '}') if properties.is_empty() => self.close_value(),
            (ObjectStep::BeforeName, '"') if property < properties.len() => {
                self.set_top(frame(property, ObjectStep::Name(0)));
            }
            (ObjectStep::Colon, ':') => {
                self.set_top(frame(property, ObjectStep::AfterValue));
                self.stack.push(Frame::Value(properties[property].1));
            }
            (ObjectStep::AfterValue, ',') if property + 1 < properties.len() => {
                self.set_top(frame(property + 1, ObjectStep::BeforeName));
            }
            (ObjectStep::AfterValue, '}') if property + 1 == properties.len() => self.close_value(),
            _ => return false,
        }
        true
    }

    fn take_in_array(&mut self, node: usize, items: usize, step: ArrayStep, c: char) -> bool {
        let Node::Array { items: item, max } = self.shape.nodes[node] else { return false };
        let frame = |items, step| Frame::Array { node, items, step };
        match (step, c) {
            (ArrayStep::Open | ArrayStep::AfterItem, ']') => {
                self.close_value();
                true
            }
            (ArrayStep::AfterItem, ',') if max.is_none_or(|max| items < max) => {
                self.set_top(frame(items, ArrayStep::Comma));
                true
            }
            (ArrayStep::Open | ArrayStep::Comma, _) if max.is_none_or(|max| items < max) => {
                self.set_top(frame(items + 1, ArrayStep::AfterItem));
                self.stack.push(Frame::Value(item));
                if self.open(item, c) {
                    true
                } else {
                    // Not the start of an item: as it was.
                    self.stack.pop();
                    self.set_top(frame(items, step));
                    false
                }
            }
            _ => false,
        }
    }

    /// A character inside a string: free text, a choice, or a property's
    /// name.
    fn take_in_string(&mut self, top: Frame, c: char) -> bool {
        match top {
            Frame::Text { length, max, escape } => {
                let text = |length, escape| Frame::Text { length, max, escape };
                match (escape, c) {
                    (Escape::None, '"') => self.close_value(),
                    (Escape::None, _) if length >= max || c.is_control() => return false,
                    (Escape::None, '\\') => self.set_top(text(length, Escape::Backslash)),
                    (Escape::None, _) => self.set_top(text(length + 1, Escape::None)),
                    (Escape::Backslash, '"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't') => {
                        self.set_top(text(length + 1, Escape::None));
                    }
                    (Escape::Backslash, 'u') => self.set_top(text(length, Escape::Hex(0))),
                    (Escape::Hex(n), _) if c.is_ascii_hexdigit() => {
                        let escape = if n == 3 { Escape::None } else { Escape::Hex(n + 1) };
                        let length = if n == 3 { length + 1 } else { length };
                        self.set_top(text(length, escape));
                    }
                    _ => return false,
                }
                true
            }
            Frame::Choice(node) => {
                let Node::Choice(choices) = &self.shape.nodes[node] else { return false };
                if c == '"' {
                    let whole = choices.contains(&self.choice);
                    if whole {
                        self.close_value();
                    }
                    return whole;
                }
                self.choice.push(c);
                let chosen = &self.choice;
                choices.iter().any(|choice| choice.starts_with(chosen.as_str()))
            }
            Frame::Object { node, property, step: ObjectStep::Name(written) } => {
                let Node::Object(properties) = &self.shape.nodes[node] else { return false };
                let name = properties[property].0.as_bytes();
                let step = if written == name.len() && c == '"' {
                    ObjectStep::Colon
                } else if name[written..].starts_with(c.encode_utf8(&mut [0; 4]).as_bytes()) {
                    ObjectStep::Name(written + c.len_utf8())
                } else {
                    return false;
                };
                self.set_top(Frame::Object { node, property, step });
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn note() -> AnswerShape {
        // Written in name order: how serde_json keeps an object's keys.
        let sentence = json!({"type": "object", "properties": {
            "source": {"type": "string", "enum": ["note:1:subjective", "note:1:plan"]},
            "text": {"type": "string"}
        }});
        AnswerShape::of(&json!({"type": "object", "properties": {
            "subjective": {"type": "array", "items": sentence},
            "plan": {"type": "array", "items": sentence, "maxItems": 1}
        }}))
        .unwrap()
    }

    /// Writes `pieces` one after another; the index of the first refused.
    fn refused_at(shape: &AnswerShape, pieces: &[&str]) -> Option<usize> {
        let mut written = shape.start();
        pieces.iter().position(|piece| !written.write(piece))
    }

    fn whole(shape: &AnswerShape, answer: &str) -> bool {
        let mut written = shape.start();
        written.write(answer) && written.is_whole()
    }

    #[test]
    fn an_answer_of_the_shape_is_written_and_then_whole() {
        let shape = note();
        let answer =
            r#"{"plan": [], "subjective": [{"source": "note:1:subjective", "text": "Low mood, \"flat\".\n"}]}"#;
        assert!(whole(&shape, answer));
        let pretty = serde_json::to_string_pretty(&serde_json::from_str::<Value>(answer).unwrap()).unwrap();
        assert!(whole(&shape, &pretty), "{pretty}");
        let pieces = [
            "{\"",
            "plan",
            "\":",
            " []",
            ",",
            " \"subjective",
            "\": [{\"source\": \"note:1:plan",
            "\", \"text\": \"Low",
            " mood",
            "\"}",
        ];
        assert_eq!(refused_at(&shape, &pieces), None);
    }

    #[test]
    fn nothing_outside_the_shape_is_written() {
        let shape = note();
        let start = shape.start();
        assert!(!start.allows("Sure! {"), "prose before the JSON");
        assert!(!start.allows("```json"), "a code fence");
        assert!(!start.allows("["), "the wrong type");
        assert!(!start.allows("{\"subjective\""), "properties in the schema's order");
        assert!(!start.allows("{\"planned\""), "a property the schema does not have");
        assert!(!start.allows("{\"plan\": [], }"), "a missing property");
        assert!(start.allows("{\"plan\": [], \"subjective\": []}"));
        let mut done = shape.start();
        assert!(done.write("{\"plan\": [], \"subjective\": []}") && done.is_whole());
        assert!(!done.allows(" "), "nothing after the whole answer");
        assert!(!done.allows("}"));
    }

    #[test]
    fn a_choice_is_one_of_the_enum() {
        let shape = note();
        let mut written = shape.start();
        assert!(written.write("{\"plan\": [{\"source\": \"note:1:"));
        assert!(written.allows("plan\"") && written.allows("subj"));
        assert!(!written.allows("objective\""), "not one of the choices");
        assert!(!written.allows("pl\""), "a choice must be whole");
        assert!(written.write("plan\", \"text\": \"x\"}]"));
        assert!(!written.allows(", {"), "maxItems: one sentence in the plan");
        assert!(written.allows(", \"subjective\""));
    }

    #[test]
    fn strings_are_json_strings_and_end_at_their_limit() {
        let shape = AnswerShape::of(&json!({"type": "array", "items": {"type": "string"}})).unwrap();
        assert!(whole(&shape, r#"["a\u00e9\\b\/", "é ☕"]"#));
        assert!(!shape.start().allows("[\"a\\x"), "not an escape");
        assert!(!shape.start().allows("[\"a\u{1}"), "a control character");
        assert!(!shape.start().allows("[\"a\nb"), "a raw newline inside a string");
        let mut long = shape.start();
        assert!(long.write(&format!("[\"{}", "a".repeat(TEXT_MAX))));
        assert!(!long.allows("a"), "cut at TEXT_MAX characters");
        assert!(long.write("\"]") && long.is_whole());
        let short = AnswerShape::of(&json!({"type": "string", "maxLength": 3})).unwrap();
        assert!(whole(&short, "\"abc\"") && !short.start().allows("\"abcd"));
    }

    #[test]
    fn whitespace_between_parts_is_bounded() {
        let shape = note();
        assert!(shape.start().allows(&format!("{}{{", " ".repeat(16))));
        assert!(!shape.start().allows(&" ".repeat(17)), "a model cannot spin on whitespace");
        assert!(!shape.start().allows("{ \"pl an"), "no whitespace inside a name");
    }

    #[test]
    fn a_refused_piece_writes_nothing() {
        let shape = note();
        let mut written = shape.start();
        assert!(written.write("{\"plan\": ["));
        assert!(!written.write("{\"source\": 1"));
        assert!(!written.write(""), "an empty piece is no progress");
        assert!(written.write("]"), "still just after the `[`");
    }

    #[test]
    fn schemas_outside_the_enforced_part_are_not_enforced() {
        for schema in [
            json!({"type": "number"}),
            json!({"anyOf": [{"type": "string"}]}),
            json!({"type": "object", "properties": {"n": {"type": "integer"}}}),
            json!({"type": "string", "enum": ["a\"b"]}),
            json!({"type": "array"}),
        ] {
            assert!(AnswerShape::of(&schema).is_none(), "{schema}");
        }
    }

    #[test]
    fn the_drafts_schemas_are_enforced() {
        let sentence = json!({
            "type": "object",
            "properties": {"text": {"type": "string"}, "source": {"type": "string", "enum": ["a:1:b"]},
                           "quote": {"type": "string"}},
            "required": ["text", "source", "quote"],
            "additionalProperties": false
        });
        let hypotheses = json!({"type": "object", "properties": {"hypotheses": {"type": "array", "items": {
            "type": "object",
            "properties": {"pattern": {"type": "string"}, "evidence": {"type": "array", "items": sentence},
                           "worksheet": {"type": "string", "enum": ["thought_record", "none"]}}
        }}}, "required": ["hypotheses"], "additionalProperties": false});
        let shape = AnswerShape::of(&hypotheses).unwrap();
        let answer = json!({"hypotheses": [{"evidence": [{"quote": "q", "source": "a:1:b", "text": "t"}],
                                            "pattern": "p", "worksheet": "none"}]});
        assert!(whole(&shape, &answer.to_string()));
    }
}
