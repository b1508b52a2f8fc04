//! The JSON of a POST policy (AWS S3 developer guide, "POST Policy",
//! `sigv4-HTTPPOSTConstructPolicy`): `{"expiration": "…", "conditions": [ … ]}`, read into
//! typed conditions with S3's `InvalidPolicyDocument` messages.
//!
//! serde_json reads the text; the visitors below keep what a plain `Value` would lose
//! (repeated members, the order of members) so that a document is read one way or
//! refused. Messages are S3's where it was recorded answering (see `policy.rs`).

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Most conditions a policy may hold.
pub const MAX_CONDITIONS: usize = 256;

/// One condition, ready to test.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    /// The field (lower-case, without `$`) equals the value.
    Eq { field: String, value: String },
    /// The field starts with the prefix (every item of a Content-Type list does).
    StartsWith { field: String, prefix: String },
    /// The file's length is within `min..=max`.
    Length { min: u64, max: u64 },
    /// A condition S3 reads but that no request meets (a name without `$`, a range
    /// bound that is a string but not a number).
    Never,
}

/// A condition and how S3 prints it in "Policy Condition failed: …".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// What to test.
    pub condition: Condition,
    /// The condition as S3 prints it: `["eq", "$key", "value"]`.
    pub text: String,
}

/// A policy document: its expiration as written and its rules.
#[derive(Debug)]
pub struct Document {
    pub expiration: String,
    pub rules: Vec<Rule>,
}

/// Why a document is refused: the text after "Invalid Policy: ".
pub type Invalid = Cow<'static, str>;

const INVALID_JSON: &str = "Invalid JSON.";

/// Reads a decoded policy document.
pub fn parse(json: &[u8]) -> Result<Document, Invalid> {
    let raw: RawDocument = serde_json::from_slice(json).map_err(|_| INVALID_JSON)?;
    if let Some(name) = raw.unexpected {
        return Err(format!("Unexpected: '{name}'").into());
    }
    let expiration = match raw.expiration.as_slice() {
        [] => return Err("Policy missing expiration.".into()),
        [Value::String(s)] => s.clone(),
        [other] => return Err(format!("Invalid 'expiration' value: '{other}'").into()),
        _ => return Err(INVALID_JSON.into()),
    };
    let conditions = match raw.conditions.as_slice() {
        [] => return Err("Policy missing conditions.".into()),
        [RawList::List(list)] => list,
        [RawList::TooMany] => {
            return Err(format!("Policy has more than {MAX_CONDITIONS} conditions.").into());
        }
        [RawList::Other] => return Err("Invalid 'conditions' value: must be a List.".into()),
        _ => return Err(INVALID_JSON.into()),
    };
    let rules = conditions.iter().map(rule).collect::<Result<_, _>>()?;
    Ok(Document { expiration, rules })
}

/// One raw condition as a rule.
fn rule(raw: &RawItem) -> Result<Rule, Invalid> {
    match raw {
        RawItem::Object(members) => simple(members),
        RawItem::List(items) => operation(items),
        RawItem::Other => Err("Invalid condition test: must be a List or Object.".into()),
    }
}

/// `{"name": "value"}`: S3 prints it as `["eq", "$name", "value"]`.
fn simple(members: &[(String, Value)]) -> Result<Rule, Invalid> {
    let [(name, value)] = members else {
        return Err(
            "Invalid Simple-Condition: Simple-Conditions must have exactly one property specified."
                .into(),
        );
    };
    let value = match value {
        Value::String(s) => s,
        Value::Null => return Err(INVALID_JSON.into()),
        _ => return Err("Invalid Simple-Condition: value must be a string.".into()),
    };
    let dollar = format!("${name}");
    Ok(Rule {
        text: render(
            &[
                &Value::from("eq"),
                &Value::from(dollar.as_str()),
                &Value::from(value.as_str()),
            ],
            name,
        ),
        condition: Condition::Eq {
            field: name.to_ascii_lowercase(),
            value: value.clone(),
        },
    })
}

/// `["op", …]`: `eq`, `starts-with` or `content-length-range`, the operation in any case.
fn operation(items: &[Value]) -> Result<Rule, Invalid> {
    let Some(Value::String(op)) = items.first() else {
        return Err("Invalid Condition: missing operation identifier.".into());
    };
    let lower = op.to_ascii_lowercase();
    if !matches!(
        lower.as_str(),
        "eq" | "starts-with" | "content-length-range"
    ) {
        return Err(format!("Invalid Condition: unknown operation '{op}'.").into());
    }
    let [_, first, second] = items else {
        return Err(format!("Invalid {op}: wrong number of arguments.").into());
    };
    let name = match first {
        Value::String(s) => s.strip_prefix('$').unwrap_or(s),
        _ => "",
    };
    let text = render(&[&items[0], first, second], name);
    let condition = if lower == "content-length-range" {
        length(first, second)?
    } else {
        let (Value::String(field), Value::String(operand)) = (first, second) else {
            return Err(INVALID_JSON.into());
        };
        match field.strip_prefix('$') {
            None => Condition::Never,
            Some(field) if lower == "eq" => Condition::Eq {
                field: field.to_ascii_lowercase(),
                value: operand.clone(),
            },
            Some(field) => Condition::StartsWith {
                field: field.to_ascii_lowercase(),
                prefix: operand.clone(),
            },
        }
    };
    Ok(Rule { condition, text })
}

/// The bounds of `content-length-range`: non-negative integers, or strings of digits.
fn length(min: &Value, max: &Value) -> Result<Condition, Invalid> {
    match (bound(min)?, bound(max)?) {
        (Some(min), Some(max)) => Ok(Condition::Length { min, max }),
        _ => Ok(Condition::Never),
    }
}

/// A bound: `Some` for a number, `None` for a string that is not one (S3 then fails the
/// condition, 403); a negative, fractional or non-numeric JSON value is refused (400).
fn bound(value: &Value) -> Result<Option<u64>, Invalid> {
    match value {
        Value::Number(n) => match n.as_u64() {
            Some(n) => Ok(Some(n)),
            None if n.is_i64() => {
                Err("Invalid content-length-range: the bounds must not be negative.".into())
            }
            None => Err(INVALID_JSON.into()),
        },
        Value::String(s) => Ok(s
            .bytes()
            .all(|b| b.is_ascii_digit())
            .then(|| s.parse().ok())
            .flatten()),
        _ => Err(INVALID_JSON.into()),
    }
}

/// `["op", "$name", "value"]` as S3 prints a condition: JSON items joined by `", "`. The
/// value of a condition on a secret field (an SSE-C key, a session token) is not printed.
fn render(items: &[&Value], name: &str) -> String {
    let secret = [
        "x-amz-server-side-encryption-customer-key",
        "x-amz-security-token",
    ]
    .iter()
    .any(|s| name.eq_ignore_ascii_case(s));
    let shown: Vec<String> = items
        .iter()
        .enumerate()
        .map(|(i, v)| match (secret, i) {
            (true, 2) => "\"…\"".to_owned(),
            _ => v.to_string(),
        })
        .collect();
    format!("[{}]", shown.join(", "))
}

/// The top level, members kept as they come.
#[derive(Default)]
struct RawDocument {
    expiration: Vec<Value>,
    conditions: Vec<RawList>,
    /// The first member that is neither, lower-cased as S3 prints it.
    unexpected: Option<String>,
}

/// The value of `conditions`.
enum RawList {
    List(Vec<RawItem>),
    TooMany,
    Other,
}

/// One item of `conditions`.
enum RawItem {
    Object(Vec<(String, Value)>),
    List(Vec<Value>),
    Other,
}

impl<'de> de::Deserialize<'de> for RawDocument {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawDocument;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a policy document")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawDocument, A::Error> {
                let mut doc = RawDocument::default();
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "expiration" => doc.expiration.push(map.next_value()?),
                        "conditions" => doc.conditions.push(map.next_value()?),
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                            doc.unexpected.get_or_insert(key.to_lowercase());
                        }
                    }
                }
                Ok(doc)
            }
        }
        d.deserialize_map(V)
    }
}

/// Implements the visits of JSON scalars for a visitor whose value has an `Other`.
macro_rules! other_scalars {
    ($t:ty) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<$t, E> {
            Ok(<$t>::Other)
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<$t, E> {
            Ok(<$t>::Other)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<$t, E> {
            Ok(<$t>::Other)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<$t, E> {
            Ok(<$t>::Other)
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<$t, E> {
            Ok(<$t>::Other)
        }
        fn visit_unit<E: de::Error>(self) -> Result<$t, E> {
            Ok(<$t>::Other)
        }
    };
}

impl<'de> de::Deserialize<'de> for RawList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of conditions")
            }
            other_scalars!(RawList);
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawList, A::Error> {
                let mut list = Vec::new();
                while let Some(item) = seq.next_element()? {
                    if list.len() == MAX_CONDITIONS {
                        while seq.next_element::<IgnoredAny>()?.is_some() {}
                        return Ok(RawList::TooMany);
                    }
                    list.push(item);
                }
                Ok(RawList::List(list))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawList, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(RawList::Other)
            }
        }
        d.deserialize_any(V)
    }
}

impl<'de> de::Deserialize<'de> for RawItem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawItem;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a condition")
            }
            other_scalars!(RawItem);
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawItem, A::Error> {
                let mut items = Vec::new();
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(RawItem::List(items))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawItem, A::Error> {
                let mut members = Vec::new();
                while let Some(member) = map.next_entry()? {
                    members.push(member);
                }
                Ok(RawItem::Object(members))
            }
        }
        d.deserialize_any(V)
    }
}
