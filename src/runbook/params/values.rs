//! The values of action parameters that are more than text: a recovery point (`latest` or an id)
//! and a time to restore to.

use chrono::{DateTime, SecondsFormat, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::runbook::template::Template;

/// A recovery point chosen by id, or `latest` to take the newest one when the step runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source<T = Template> {
    Latest,
    Named(T),
}

impl<'de, T: Deserialize<'de> + Text> Deserialize<'de> for Source<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Source<T>, D::Error> {
        let t = T::deserialize(d)?;
        Ok(match t.literal() {
            Some("latest") => Source::Latest,
            _ => Source::Named(t),
        })
    }
}

impl<T: Serialize> Serialize for Source<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Source::Latest => s.serialize_str("latest"),
            Source::Named(t) => t.serialize(s),
        }
    }
}

impl<T> JsonSchema for Source<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Source".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "`latest`, or the id/ARN of a specific snapshot, backup or recovery point"
        })
    }
}

/// The text of a parameter: a [`Template`] in a runbook, a `String` once rendered.
pub trait Text {
    /// The text when it is fully known (no step output left to fill in).
    fn literal(&self) -> Option<&str>;
}

impl Text for String {
    fn literal(&self) -> Option<&str> {
        Some(self)
    }
}

impl Text for Template {
    fn literal(&self) -> Option<&str> {
        self.literal_str()
    }
}

/// The time to restore to: `latest` (latest restorable time) or an RFC 3339 timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RestoreTime {
    Latest,
    At(DateTime<Utc>),
}

impl<'de> Deserialize<'de> for RestoreTime {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<RestoreTime, D::Error> {
        let s = String::deserialize(d)?;
        if s == "latest" {
            return Ok(RestoreTime::Latest);
        }
        DateTime::parse_from_rfc3339(&s)
            .map(|t| RestoreTime::At(t.with_timezone(&Utc)))
            .map_err(|_| {
                serde::de::Error::custom(format!(
                    "`{s}` is not `latest` or an RFC 3339 time such as 2026-11-21T03:00:00Z"
                ))
            })
    }
}

impl std::fmt::Display for RestoreTime {
    /// `latest`, or the time as RFC 3339 UTC.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RestoreTime::Latest => f.write_str("latest"),
            RestoreTime::At(t) => f.write_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
        }
    }
}

impl Serialize for RestoreTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl JsonSchema for RestoreTime {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RestoreTime".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "`latest` (the latest restorable time) or an RFC 3339 time"
        })
    }
}
