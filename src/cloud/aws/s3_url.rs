//! A state store's S3 URL, `s3://BUCKET/PREFIX`, read and checked before anything is asked of S3.

use crate::runtime::store::check_key;

/// `s3://BUCKET/PREFIX` as (bucket, prefix), or why not.
pub fn parse_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("s3://")
        .ok_or_else(|| format!("`{}` is not an s3:// URL", crate::safe::one_line(url)))?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    let prefix = prefix.trim_matches('/');
    let bucket_ok = (3..=63).contains(&bucket.len())
        && bucket
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    if !bucket_ok {
        return Err(format!(
            "`{}`: `{}` is not an S3 bucket name (3 to 63 lower-case letters, digits, `-` and `.`)",
            crate::safe::one_line(url),
            crate::safe::one_line(bucket)
        ));
    }
    if !prefix.is_empty() {
        check_key(prefix).map_err(|e| e.to_string())?;
    }
    Ok((bucket.to_string(), prefix.to_string()))
}
