//! `{{vars.x}}`, `{{resources.db.id}}` and `{{steps.restore.outputs.volume_id}}` inside strings.
//!
//! Vars and resource fields are known when the runbook loads and are substituted then; step
//! outputs are known only while the runbook runs, so a [`Template`] keeps them as holes.

use std::collections::BTreeMap;
use std::fmt;

/// A reference found inside `{{ }}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ref {
    Var(String),
    /// `regions.primary` or `regions.recovery`.
    Region(String),
    Resource {
        name: String,
        field: String,
    },
    StepOutput {
        step: String,
        output: String,
    },
    /// `run.id`, `run.step`, `run.elapsed` or `run.rto`: known when the step's request is made.
    Run(String),
}

/// What `{{run.…}}` may name.
pub const RUN_FIELDS: [&str; 4] = ["id", "step", "elapsed", "rto"];

/// The name under which a run's own facts (`{{run.…}}`) are handed to rendering, beside the
/// step outputs: no step id can be written so.
pub const RUN_CONTEXT: &str = "@run";

impl fmt::Display for Ref {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ref::Var(name) => write!(f, "vars.{name}"),
            Ref::Region(which) => write!(f, "regions.{which}"),
            Ref::Resource { name, field } => write!(f, "resources.{name}.{field}"),
            Ref::StepOutput { step, output } => write!(f, "steps.{step}.outputs.{output}"),
            Ref::Run(field) => write!(f, "run.{field}"),
        }
    }
}

/// A piece of a string: literal text, or a reference starting at `offset` (bytes) in the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Ref { reference: Ref, offset: usize },
}

/// Splits `text` into literal text and references; the error names the byte offset of the
/// problem and what is wrong.
pub fn split(text: &str) -> Result<Vec<Piece>, (usize, String)> {
    let mut pieces = Vec::new();
    let mut rest = text;
    let mut base = 0;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            pieces.push(Piece::Text(rest[..open].to_string()));
        }
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err((base + open, "`{{` is never closed with `}}`".into()));
        };
        let inner = after[..close].trim();
        let reference = parse_ref(inner).map_err(|m| (base + open, m))?;
        pieces.push(Piece::Ref {
            reference,
            offset: base + open,
        });
        let consumed = open + 2 + close + 2;
        base += consumed;
        rest = &rest[consumed..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest.to_string()));
    }
    Ok(pieces)
}

fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn parse_ref(inner: &str) -> Result<Ref, String> {
    let parts: Vec<&str> = inner.split('.').collect();
    let bad = || {
        format!(
            "`{{{{{inner}}}}}` is not a reference; write `{{{{vars.NAME}}}}`, \
             `{{{{regions.primary}}}}`, `{{{{resources.NAME.FIELD}}}}`, \
             `{{{{steps.STEP.outputs.NAME}}}}` or `{{{{run.FACT}}}}`"
        )
    };
    if !parts.iter().all(|p| is_name(p)) {
        return Err(bad());
    }
    match parts.as_slice() {
        ["vars", name] => Ok(Ref::Var((*name).to_string())),
        ["regions", which @ ("primary" | "recovery")] => Ok(Ref::Region((*which).to_string())),
        ["resources", name, field] => Ok(Ref::Resource {
            name: (*name).to_string(),
            field: (*field).to_string(),
        }),
        ["steps", step, "outputs", output] => Ok(Ref::StepOutput {
            step: (*step).to_string(),
            output: (*output).to_string(),
        }),
        ["run", field] if RUN_FIELDS.contains(field) => Ok(Ref::Run((*field).to_string())),
        _ => Err(bad()),
    }
}

/// A string whose step-output references are filled in while the runbook runs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct Template {
    pieces: Vec<TemplatePiece>,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum TemplatePiece {
    Text(String),
    Output { step: String, output: String },
}

impl Template {
    pub fn literal(text: impl Into<String>) -> Template {
        Template {
            pieces: vec![TemplatePiece::Text(text.into())],
        }
    }

    pub(crate) fn push_text(&mut self, text: &str) {
        if let Some(TemplatePiece::Text(last)) = self.pieces.last_mut() {
            last.push_str(text);
        } else if !text.is_empty() {
            self.pieces.push(TemplatePiece::Text(text.to_string()));
        }
    }

    pub(crate) fn push_output(&mut self, step: &str, output: &str) {
        self.pieces.push(TemplatePiece::Output {
            step: step.to_string(),
            output: output.to_string(),
        });
    }

    /// The text when it is one piece of literal text (see [`Template::as_literal`]).
    pub fn literal_str(&self) -> Option<&str> {
        match self.pieces.as_slice() {
            [] => Some(""),
            [TemplatePiece::Text(t)] => Some(t),
            _ => None,
        }
    }

    /// The text when it holds no step output, i.e. is fully known before the run.
    pub fn as_literal(&self) -> Option<String> {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                TemplatePiece::Text(t) => out.push_str(t),
                TemplatePiece::Output { .. } => return None,
            }
        }
        Some(out)
    }

    /// The step outputs this template needs, as (step, output).
    pub fn needs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.pieces.iter().filter_map(|p| match p {
            TemplatePiece::Output { step, .. } if step == RUN_CONTEXT => None,
            TemplatePiece::Output { step, output } => Some((step.as_str(), output.as_str())),
            TemplatePiece::Text(_) => None,
        })
    }

    /// Fills in step outputs; the error names the first output that is not known yet.
    pub fn render(
        &self,
        outputs: &BTreeMap<String, BTreeMap<String, String>>,
    ) -> Result<String, Ref> {
        let mut out = String::new();
        for p in &self.pieces {
            match p {
                TemplatePiece::Text(t) => out.push_str(t),
                TemplatePiece::Output { step, output } => {
                    match outputs.get(step).and_then(|o| o.get(output)) {
                        Some(v) => out.push_str(v),
                        None if step == RUN_CONTEXT => return Err(Ref::Run(output.clone())),
                        None => {
                            return Err(Ref::StepOutput {
                                step: step.clone(),
                                output: output.clone(),
                            })
                        }
                    }
                }
            }
        }
        Ok(out)
    }
}

impl fmt::Display for Template {
    /// Shows the template as written, with `{{steps.…}}` holes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in &self.pieces {
            match p {
                TemplatePiece::Text(t) => f.write_str(t)?,
                TemplatePiece::Output { step, output } if step == RUN_CONTEXT => {
                    write!(f, "{{{{run.{output}}}}}")?
                }
                TemplatePiece::Output { step, output } => {
                    write!(f, "{{{{steps.{step}.outputs.{output}}}}}")?
                }
            }
        }
        Ok(())
    }
}

impl<'de> serde::Deserialize<'de> for Template {
    /// Reads a string whose vars and resource fields were already substituted at load time.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Template, D::Error> {
        let text = String::deserialize(d)?;
        Template::from_expanded(&text).map_err(serde::de::Error::custom)
    }
}

impl Template {
    /// A template from text whose vars and resource fields were already substituted, so that
    /// only step outputs remain as references.
    pub fn from_expanded(text: &str) -> Result<Template, String> {
        let pieces = split(text).map_err(|(_, m)| m)?;
        let mut t = Template::default();
        for p in pieces {
            match p {
                Piece::Text(s) => t.push_text(&s),
                Piece::Ref {
                    reference: Ref::StepOutput { step, output },
                    ..
                } => t.push_output(&step, &output),
                Piece::Ref {
                    reference: Ref::Run(field),
                    ..
                } => t.push_output(RUN_CONTEXT, &field),
                Piece::Ref { reference, .. } => {
                    return Err(format!("`{{{{{reference}}}}}` was not substituted"))
                }
            }
        }
        Ok(t)
    }
}

impl schemars::JsonSchema for Template {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Template".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "Text that may use {{vars.NAME}}, {{resources.NAME.FIELD}}, {{steps.STEP.outputs.NAME}} and {{run.id}}, {{run.step}}, {{run.elapsed}}, {{run.rto}}"
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_text_and_references() {
        let pieces = split("db-{{ vars.env }}-{{steps.a.outputs.id}}").unwrap_or_default();
        assert_eq!(
            pieces,
            vec![
                Piece::Text("db-".into()),
                Piece::Ref {
                    reference: Ref::Var("env".into()),
                    offset: 3
                },
                Piece::Text("-".into()),
                Piece::Ref {
                    reference: Ref::StepOutput {
                        step: "a".into(),
                        output: "id".into()
                    },
                    offset: 18
                },
            ]
        );
    }

    #[test]
    fn refuses_malformed_references() {
        assert_eq!(split("x {{vars.a").map_err(|e| e.0), Err(2));
        assert!(split("{{steps.a.id}}").is_err());
        assert!(split("{{env.HOME}}").is_err());
        assert!(split("{{vars.a b}}").is_err());
    }

    #[test]
    fn renders_outputs_and_names_missing_ones() {
        let mut t = Template::literal("vol ");
        t.push_output("restore", "volume_id");
        let mut outputs = BTreeMap::new();
        assert!(t.render(&outputs).is_err());
        outputs.insert(
            "restore".to_string(),
            BTreeMap::from([("volume_id".to_string(), "vol-1".to_string())]),
        );
        assert_eq!(t.render(&outputs), Ok("vol vol-1".to_string()));
        assert_eq!(t.to_string(), "vol {{steps.restore.outputs.volume_id}}");
    }
}
