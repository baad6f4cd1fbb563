//! What a visitor may send, and the limits it must meet before it is stored.
//!
//! Parsing (serde) rejects unknown fields, unknown enum values and wrong types; `validate`
//! then checks what a type cannot say: ranges, lengths, which labels a model has, and that a
//! submission is exactly one of "feedback on a result" or "a visit rating".

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;
use wire::catalog::{Catalogue, TaskKind};

/// Longest comment or attached input text, in characters (the client shows a live counter).
pub const MAX_TEXT_CHARS: usize = 2000;
/// Longest label: ImageNet's longest short name is far shorter.
pub const MAX_LABEL_CHARS: usize = 80;
/// RFC 5321's limit for a forward path.
pub const MAX_EMAIL_CHARS: usize = 254;
/// A latency above ten minutes is a broken clock, not a measurement.
pub const MAX_LATENCY_MS: f64 = 600_000.0;

/// One submission. Exactly one of `result` and `visit` is present.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// Idempotency key chosen by the client: a repeat returns the first acknowledgement.
    pub id: Uuid,
    /// Thumbs up or down on one model answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<ResultFeedback>,
    /// The visit rating.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visit: Option<VisitRating>,
    /// Sent only when the visitor allowed telemetry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub telemetry: Option<Telemetry>,
    /// Sent only with the separate marketing consent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contact: Option<Contact>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    Up,
    Down,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    Webgpu,
    WasmSimd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum DeviceClass {
    Mobile,
    Tablet,
    Desktop,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResultFeedback {
    /// The catalogue id of the model that answered (`sentiment`, `image`, or any model the
    /// site ships: `/models/manifest.json`).
    #[schema(min_length = 1, max_length = 40)]
    pub model: String,
    pub verdict: Verdict,
    /// The id of the label the model gave, one of the model's catalogue labels (`positive` or
    /// `negative` for sentiment; an ImageNet class name for the image model).
    #[schema(min_length = 1, max_length = 80)]
    pub predicted: String,
    /// What the visitor says it should have been.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_length = 1, max_length = 80)]
    pub corrected: Option<String>,
    /// The sentence, only if the visitor ticked "attach my text". Never sent for images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2000)]
    pub input_text: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitRating {
    #[schema(minimum = 1, maximum = 5)]
    pub speed: u8,
    #[schema(minimum = 1, maximum = 5)]
    pub stability: u8,
    #[schema(minimum = 1, maximum = 5)]
    pub usability: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2000)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Telemetry {
    #[schema(minimum = 0, maximum = 600000)]
    pub latency_ms: f64,
    pub backend: Backend,
    pub device: DeviceClass,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    #[schema(min_length = 3, max_length = 254)]
    pub email: String,
    /// Must be `true`: an address is only ever sent with this separate consent.
    pub marketing_consent: bool,
}

/// Why a well-formed submission was refused; shown to the client as a 422.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Invalid {
    #[error("send exactly one of `result` and `visit`")]
    NotExactlyOne,
    #[error("`{field}` must be between {min} and {max}")]
    OutOfRange {
        field: &'static str,
        min: u32,
        max: u32,
    },
    #[error("`{field}` is longer than {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("`{field}` must not be empty")]
    Empty { field: &'static str },
    #[error("`{field}` contains control characters")]
    ControlCharacters { field: &'static str },
    #[error("`result.model` \"{model}\" is not a model this site ships")]
    UnknownModel { model: String },
    #[error("`{field}` is not a label of the model \"{model}\"")]
    NotALabel { field: &'static str, model: String },
    #[error("images are never uploaded: `input_text` is only for text models")]
    InputForImage,
    #[error("`contact.email` does not look like an e-mail address")]
    NotAnEmail,
    #[error("an e-mail address needs `contact.marketing_consent: true`")]
    NoMarketingConsent,
}

impl Submission {
    /// Parses a body. serde's derived parser also takes a struct written as the array of its
    /// fields in order (`["<uuid>", null, {…}]`), which the OpenAPI document does not describe;
    /// no field of a submission is an array, so any array anywhere is refused.
    pub fn parse(body: &[u8]) -> Result<Self, serde_json::Error> {
        let submission: Self = serde_json::from_slice(body)?;
        let value: serde_json::Value = serde_json::from_slice(body)?;
        if contains_array(&value) {
            return Err(serde::de::Error::custom(
                "arrays are not accepted: send objects as described in /api/openapi.json",
            ));
        }
        Ok(submission)
    }

    /// Checks a result's model and labels against the catalogue the site ships.
    pub fn check_against(&self, catalogue: &Catalogue) -> Result<(), Invalid> {
        self.result
            .as_ref()
            .map_or(Ok(()), |r| r.check_against(catalogue))
    }

    pub fn validate(&self) -> Result<(), Invalid> {
        match (&self.result, &self.visit) {
            (Some(r), None) => r.validate()?,
            (None, Some(v)) => v.validate()?,
            _ => return Err(Invalid::NotExactlyOne),
        }
        if let Some(t) = &self.telemetry {
            if !(0.0..=MAX_LATENCY_MS).contains(&t.latency_ms) {
                return Err(Invalid::OutOfRange {
                    field: "telemetry.latency_ms",
                    min: 0,
                    max: MAX_LATENCY_MS as u32,
                });
            }
        }
        if let Some(c) = &self.contact {
            if !c.marketing_consent {
                return Err(Invalid::NoMarketingConsent);
            }
            text(&c.email, "contact.email", MAX_EMAIL_CHARS, false)?;
            if !looks_like_email(&c.email) {
                return Err(Invalid::NotAnEmail);
            }
        }
        Ok(())
    }

    /// Digest of the parsed submission in a canonical form, so a retry whose JSON differs
    /// only in spacing or key order still counts as the same body.
    pub fn canonical_sha256(&self) -> String {
        // Serialising a struct of strings, numbers and enums cannot fail.
        let bytes = serde_json::to_vec(self).unwrap_or_default();
        hex(&Sha256::digest(bytes))
    }
}

impl ResultFeedback {
    fn validate(&self) -> Result<(), Invalid> {
        label(&self.model, "result.model")?;
        label(&self.predicted, "result.predicted")?;
        if let Some(c) = &self.corrected {
            label(c, "result.corrected")?;
        }
        if let Some(t) = &self.input_text {
            text(t, "result.input_text", MAX_TEXT_CHARS, true)?;
        }
        Ok(())
    }

    /// What only the catalogue can say: the model is one the site ships, the labels are its
    /// own, and text comes only with a text model.
    fn check_against(&self, catalogue: &Catalogue) -> Result<(), Invalid> {
        let model = catalogue
            .get(&self.model)
            .map(|entry| &entry.manifest)
            .ok_or_else(|| Invalid::UnknownModel {
                model: self.model.clone(),
            })?;
        let labels = [
            ("result.predicted", Some(&self.predicted)),
            ("result.corrected", self.corrected.as_ref()),
        ];
        for (field, value) in labels {
            if value.is_some_and(|v| !model.has_label(v)) {
                return Err(Invalid::NotALabel {
                    field,
                    model: self.model.clone(),
                });
            }
        }
        if self.input_text.is_some() && model.task != TaskKind::TextClassification {
            return Err(Invalid::InputForImage);
        }
        Ok(())
    }
}

impl VisitRating {
    fn validate(&self) -> Result<(), Invalid> {
        for (field, value) in [
            ("visit.speed", self.speed),
            ("visit.stability", self.stability),
            ("visit.usability", self.usability),
        ] {
            if !(1..=5).contains(&value) {
                return Err(Invalid::OutOfRange {
                    field,
                    min: 1,
                    max: 5,
                });
            }
        }
        if let Some(c) = &self.comment {
            text(c, "visit.comment", MAX_TEXT_CHARS, true)?;
        }
        Ok(())
    }
}

/// A model or label id: one non-empty line.
fn label(value: &str, field: &'static str) -> Result<(), Invalid> {
    text(value, field, MAX_LABEL_CHARS, false)?;
    if value.trim().is_empty() {
        return Err(Invalid::Empty { field });
    }
    Ok(())
}

/// Length in characters (not bytes: a Chinese comment gets the same 2000 as an English one),
/// and no control characters — NUL in particular, which PostgreSQL's TEXT cannot store.
/// Free text may keep line breaks and tabs.
fn text(value: &str, field: &'static str, max: usize, multiline: bool) -> Result<(), Invalid> {
    if value.chars().count() > max {
        return Err(Invalid::TooLong { field, max });
    }
    let allowed = |c: char| multiline && matches!(c, '\n' | '\r' | '\t');
    if value.chars().any(|c| c.is_control() && !allowed(c)) {
        return Err(Invalid::ControlCharacters { field });
    }
    Ok(())
}

/// Deliberately loose: one `@` with something on each side and a dot in the domain. The real
/// check is the confirmation mail marketing sends.
fn looks_like_email(s: &str) -> bool {
    match s.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && !domain.contains('@')
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.chars().any(char::is_whitespace)
        }
        None => false,
    }
}

fn contains_array(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Array(_) => true,
        serde_json::Value::Object(fields) => fields.values().any(contains_array),
        _ => false,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visit(speed: u8, comment: Option<&str>) -> Submission {
        Submission {
            id: Uuid::nil(),
            result: None,
            visit: Some(VisitRating {
                speed,
                stability: 3,
                usability: 4,
                comment: comment.map(str::to_owned),
            }),
            telemetry: None,
            contact: None,
        }
    }

    #[test]
    fn ratings_are_one_to_five() {
        assert!(visit(1, None).validate().is_ok());
        assert!(visit(5, None).validate().is_ok());
        assert!(matches!(
            visit(0, None).validate(),
            Err(Invalid::OutOfRange { .. })
        ));
        assert!(matches!(
            visit(6, None).validate(),
            Err(Invalid::OutOfRange { .. })
        ));
    }

    #[test]
    fn comments_are_counted_in_characters_and_keep_line_breaks() {
        let chinese = "好".repeat(MAX_TEXT_CHARS);
        assert!(visit(3, Some(&chinese)).validate().is_ok());
        let long = "a".repeat(MAX_TEXT_CHARS + 1);
        assert!(matches!(
            visit(3, Some(&long)).validate(),
            Err(Invalid::TooLong { .. })
        ));
        assert!(visit(3, Some("line\nline")).validate().is_ok());
        assert_eq!(
            visit(3, Some("nul\0")).validate(),
            Err(Invalid::ControlCharacters {
                field: "visit.comment"
            })
        );
    }

    /// A catalogue like the shipped one: a two-label text model and an image model whose
    /// labels travel in its weights file.
    fn catalogue() -> Catalogue {
        serde_json::from_value(serde_json::json!({ "models": [
            { "id": "sentiment", "task": "text-classification", "card": "c.md",
              "name": {"en": "s", "zh": "s"}, "description": {"en": "s", "zh": "s"},
              "quantization": {"en": "q", "zh": "q"},
              "labels": [{"id": "negative", "en": "Negative", "zh": "负面"},
                         {"id": "positive", "en": "Positive", "zh": "正面"}],
              "files": [{"name": "w", "sha256": "0", "bytes": 1}], "architecture": {},
              "file": "sentiment/w", "sha256": "0", "bytes": 1, "card_path": "sentiment/c.md" },
            { "id": "image", "task": "image-classification", "card": "c.md",
              "name": {"en": "i", "zh": "i"}, "description": {"en": "i", "zh": "i"},
              "quantization": {"en": "q", "zh": "q"},
              "labels_in_file": {"file": "w", "count": 1000},
              "files": [{"name": "w", "sha256": "0", "bytes": 1}], "architecture": {},
              "file": "image/w", "sha256": "0", "bytes": 1, "card_path": "image/c.md" }
        ]}))
        .expect("a valid catalogue")
    }

    fn result(model: &str, predicted: &str, corrected: &str, input: Option<&str>) -> Submission {
        let mut s = visit(3, None);
        s.visit = None;
        s.result = Some(ResultFeedback {
            model: model.into(),
            verdict: Verdict::Down,
            predicted: predicted.into(),
            corrected: Some(corrected.into()),
            input_text: input.map(Into::into),
        });
        s
    }

    #[test]
    fn models_and_labels_come_from_the_catalogue_and_images_carry_no_input() {
        let catalogue = catalogue();
        let ok = result("sentiment", "positive", "negative", Some("fine"));
        assert_eq!(ok.check_against(&catalogue), Ok(()));
        assert!(matches!(
            result("sentiment", "positive", "neutral", None).check_against(&catalogue),
            Err(Invalid::NotALabel {
                field: "result.corrected",
                ..
            })
        ));
        assert!(matches!(
            result("reviews", "positive", "negative", None).check_against(&catalogue),
            Err(Invalid::UnknownModel { .. })
        ));
        assert_eq!(
            result("image", "tabby", "tiger cat", Some("a photo")).check_against(&catalogue),
            Err(Invalid::InputForImage)
        );
        assert_eq!(
            result("image", "tabby", "tiger cat", None).check_against(&catalogue),
            Ok(())
        );
    }

    #[test]
    fn both_or_neither_kind_is_refused() {
        let mut s = visit(3, None);
        s.visit = None;
        assert_eq!(s.validate(), Err(Invalid::NotExactlyOne));
    }

    #[test]
    fn email_needs_marketing_consent_and_a_plausible_shape() {
        let mut s = visit(3, None);
        s.contact = Some(Contact {
            email: "a@example.org".into(),
            marketing_consent: false,
        });
        assert_eq!(s.validate(), Err(Invalid::NoMarketingConsent));
        for bad in ["a@b", "@example.org", "a b@example.org", "a@@example.org"] {
            s.contact = Some(Contact {
                email: bad.into(),
                marketing_consent: true,
            });
            assert_eq!(s.validate(), Err(Invalid::NotAnEmail), "{bad}");
        }
    }

    #[test]
    fn structs_written_as_arrays_are_refused() {
        let id = "00000000-0000-0000-0000-000000000000";
        for body in [
            format!(r#"["{id}", null, [1, 2, 3]]"#),
            format!(r#"{{"id":"{id}","visit":[1,2,3]}}"#),
            format!(
                r#"{{"id":"{id}","visit":{{"speed":1,"stability":2,"usability":3}},"telemetry":[1,"webgpu","mobile"]}}"#
            ),
        ] {
            assert!(Submission::parse(body.as_bytes()).is_err(), "{body}");
        }
        let ok = format!(r#"{{"id":"{id}","visit":{{"speed":1,"stability":2,"usability":3}}}}"#);
        assert!(Submission::parse(ok.as_bytes()).is_ok());
    }

    #[test]
    fn canonical_digest_ignores_json_spacing_and_key_order() {
        let a: Submission = serde_json::from_str(
            r#"{"id":"00000000-0000-0000-0000-000000000000","visit":{"speed":1,"stability":2,"usability":3}}"#,
        )
        .unwrap();
        let b: Submission = serde_json::from_str(
            r#"{ "visit": {"usability":3, "stability":2, "speed":1}, "id": "00000000-0000-0000-0000-000000000000" }"#,
        )
        .unwrap();
        assert_eq!(a.canonical_sha256(), b.canonical_sha256());
    }
}
