//! What names look like: runbook and step ids, names of vars and resources, AWS regions.

/// Runbook and step ids: lowercase letters, digits and hyphens, starting with a letter or digit.
pub(in crate::runbook) fn is_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
}

/// Names of vars, resources and outputs: letters, digits, `-` and `_`.
pub(in crate::runbook) fn is_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// The regions of every AWS partition (commercial, China, GovCloud, European Sovereign Cloud)
/// as of this pilotlight; a well-shaped name outside it gets a warning.
pub(in crate::runbook) const KNOWN_REGIONS: &[&str] = &[
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-6",
    "ap-southeast-7",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "eu-south-1",
    "eu-south-2",
    "eu-north-1",
    "il-central-1",
    "me-south-1",
    "me-central-1",
    "mx-central-1",
    "sa-east-1",
    "cn-north-1",
    "cn-northwest-1",
    "us-gov-east-1",
    "us-gov-west-1",
    "eusc-de-east-1",
];

/// AWS region names such as `us-east-1`, `eu-central-2`, `us-gov-west-1`, `eusc-de-east-1`:
/// a known geography, known words, and a number.
pub fn is_region(s: &str) -> bool {
    const AREAS: [&str; 11] = [
        "us", "eu", "ap", "sa", "ca", "me", "af", "il", "mx", "cn", "eusc",
    ];
    const WORDS: [&str; 15] = [
        "east",
        "west",
        "north",
        "south",
        "central",
        "northeast",
        "southeast",
        "northwest",
        "southwest",
        "gov",
        "iso",
        "isob",
        "isoe",
        "isof",
        "de",
    ];
    let parts: Vec<&str> = s.split('-').collect();
    let Some((number, rest)) = parts.split_last() else {
        return false;
    };
    let Some((area, words)) = rest.split_first() else {
        return false;
    };
    AREAS.contains(area)
        && (1..=3).contains(&words.len())
        && words.iter().all(|w| WORDS.contains(w))
        && (1..=2).contains(&number.len())
        && number.bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_region_names() {
        for r in [
            "us-east-1",
            "eu-central-2",
            "us-gov-west-1",
            "ap-southeast-4",
        ] {
            assert!(is_region(r), "{r}");
        }
        for r in [
            "us-east",
            "useast1",
            "US-EAST-1",
            "us--1",
            "eu-central-x",
            "xx-east-1",
            "us-moon-1",
            "us-east-1\u{7}",
            "us-east-123",
        ] {
            assert!(!is_region(r), "{r}");
        }
    }
}
