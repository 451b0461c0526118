//! `state: { url, region }`: the team's state store a runbook names. An S3 URL needs a bucket
//! name S3 accepts; anything else with a scheme is not a store; the region is a region.

use super::names::is_region;
use super::Checker;
use crate::runbook::model::StateStore;
use crate::runbook::raw::RawState;
use crate::runbook::source::Seg;

/// What S3 accepts as a bucket name: 3 to 63 lower-case letters, digits, `-` and `.`.
fn is_bucket(name: &str) -> bool {
    (3..=63).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
}

impl Checker<'_> {
    pub(super) fn state(&mut self, raw: &RawState) -> Option<StateStore> {
        let url_at = [Seg::Key("state"), Seg::Key("url")];
        let url = raw.url.trim();
        let ok = match url.strip_prefix("s3://") {
            Some(rest) => is_bucket(rest.split('/').next().unwrap_or_default()),
            None => !url.is_empty() && !url.contains("://"),
        };
        if !ok || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
            self.error_at(
                &url_at,
                format!("`{}` is not a state store", url.escape_debug()),
                "write s3://BUCKET/PREFIX (a bucket in a region that survives the incident) or a folder",
            );
            return None;
        }
        if let Some(region) = &raw.region {
            if !is_region(region) {
                self.error_at(
                    &[Seg::Key("state"), Seg::Key("region")],
                    format!("`{}` is not an AWS region", region.escape_debug()),
                    "the bucket's region, e.g. `us-west-2` (default: regions.recovery)",
                );
                return None;
            }
        }
        Some(StateStore {
            url: url.trim_end_matches('/').to_string(),
            region: raw.region.clone(),
        })
    }
}
