//! SDK errors as [`CloudError`]s that say what happened and what to do: a missing permission
//! names the IAM action, a silent region says it may be impaired, a refused write says why.

use std::error::Error as StdError;

use aws_credential_types::provider::error::{CredentialsError, TokenError};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::clients::{NotCatalogued, NotSendOnce, WriteRefused};
use super::guard::never_connected;
use crate::model::CloudError;

/// Maps a failed call of `action` (`ec2:DescribeVolumes`, the IAM action) to a [`CloudError`].
pub fn cloud_error<E>(action: &str, timeout_secs: u64, err: SdkError<E, HttpResponse>) -> CloudError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    if let Some(refused) = find::<WriteRefused>(&err) {
        return CloudError::Refused(refused.to_string());
    }
    if let Some(refused) = find::<NotSendOnce>(&err) {
        return CloudError::Refused(refused.to_string());
    }
    if let Some(refused) = find::<NotCatalogued>(&err) {
        return CloudError::Refused(refused.to_string());
    }
    // No credentials (or an expired SSO session): nothing was sent, and every region would say
    // the same, so this is never "no answer".
    if find::<CredentialsError>(&err).is_some() || find::<TokenError>(&err).is_some() {
        return no_credentials(action, &root_cause(&err));
    }
    match &err {
        SdkError::TimeoutError(_) => return CloudError::Timeout(timeout_secs),
        SdkError::DispatchFailure(d) if d.is_timeout() => return CloudError::Timeout(timeout_secs),
        // The connection broke after the request was sent: AWS may have done it.
        SdkError::DispatchFailure(d)
            if d.is_io()
                && !d
                    .as_connector_error()
                    .is_some_and(|c| never_connected(c)) =>
        {
            return CloudError::Api {
                code: "NoAnswer".into(),
                message: format!(
                    "the connection to AWS broke before it answered {action} ({}); it may have been done: check before you retry",
                    root_cause(&err)
                ),
            }
        }
        SdkError::DispatchFailure(_) => {
            return CloudError::Api {
                code: "Unreachable".into(),
                message: format!(
                    "cannot reach AWS for {action} ({}); check the network, the region, or AWS_ENDPOINT_URL",
                    root_cause(&err)
                ),
            }
        }
        _ => {}
    }
    // A 5xx that names no error (a load balancer's page, a half-answer): the service is not
    // answering, which another region's endpoint may still do.
    if let Some(status) = err
        .raw_response()
        .map(|r| r.status().as_u16())
        .filter(|s| *s >= 500)
    {
        if matches!(err.code(), None | Some("Unknown")) {
            return CloudError::Api {
                code: "ServiceUnavailable".into(),
                message: format!(
                    "AWS answered {action} with HTTP {status} and no error code; the service may be impaired"
                ),
            };
        }
    }
    let code = one_line(err.code().unwrap_or("Unknown"), 64);
    // AWS's own words when it gave some, else the innermost cause: one line either way (an
    // answer the SDK could not parse would otherwise show its whole debug dump).
    let message = err
        .message()
        .map_or_else(|| root_cause(&err), str::to_string);
    from_code(action, &code, one_line(&message, MESSAGE_MAX))
}

/// The error for a call that could not be signed: which credentials are missing and how to get
/// them.
pub fn no_credentials(action: &str, why: &str) -> CloudError {
    CloudError::Api {
        code: "NoCredentials".into(),
        message: format!(
            "no usable AWS credentials, so {action} was not sent ({why}); run `aws sso login` (or set AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), then try again"
        ),
    }
}

/// The mapping by error code (shared with errors that arrive inside a successful answer).
pub fn from_code(action: &str, code: &str, message: String) -> CloudError {
    match code {
        "AccessDenied"
        | "AccessDeniedException"
        | "UnauthorizedOperation"
        | "AuthorizationError"
        | "UnauthorizedException" => CloudError::AccessDenied {
            action: action.to_string(),
            message,
        },
        "ExpiredToken" | "ExpiredTokenException" | "InvalidClientTokenId"
        | "UnrecognizedClientException" | "InvalidToken" => CloudError::Api {
            code: code.to_string(),
            message: format!(
                "{message}; the AWS credentials are missing or expired: run `aws sso login` (or set AWS_PROFILE) and try again"
            ),
        },
        c if c.contains("NotFound")
            || c.starts_with("NoSuch")
            || c == "ResourceNotFoundException"
            || c == "TableNotFoundException"
            || c == "BackupNotFoundException" =>
        {
            CloudError::NotFound(format!("{message} ({code})"))
        }
        // The SDK's own throttling codes: these were retried with backoff before landing here.
        c if crate::model::THROTTLING_CODES.contains(&c) => {
            CloudError::Api {
                code: code.to_string(),
                message: format!("{message}; AWS is throttling {action} even after retries: wait a minute and retry the step"),
            }
        }
        _ => CloudError::Api {
            code: code.to_string(),
            message,
        },
    }
}

/// The longest message kept from AWS (or from the SDK) in an error.
const MESSAGE_MAX: usize = 300;

/// `text` on one line of at most `max` characters: control characters (newlines, escapes)
/// become spaces, runs of spaces one, and what is cut says so.
pub fn one_line(text: &str, max: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max + 3));
    for c in text.chars() {
        let c = if c.is_control() { ' ' } else { c };
        if c == ' ' && (out.is_empty() || out.ends_with(' ')) {
            continue;
        }
        out.push(c);
    }
    let out = out.trim_end();
    match out.char_indices().nth(max) {
        Some((cut, _)) => format!("{}…", &out[..cut]),
        None => out.to_string(),
    }
}

/// The innermost error's words (`Connection refused (os error 111)`).
fn root_cause(err: &(dyn StdError + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    one_line(&cur.to_string(), MESSAGE_MAX)
}

fn find<'a, T: StdError + 'static>(err: &'a (dyn StdError + 'static)) -> Option<&'a T> {
    let mut cur: Option<&(dyn StdError + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(t) = e.downcast_ref::<T>() {
            return Some(t);
        }
        cur = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_map_to_what_the_operator_can_act_on() {
        let denied = from_code("rds:DescribeDBInstances", "AccessDenied", "no".into());
        assert!(denied.to_string().contains("rds:DescribeDBInstances"));
        assert!(matches!(
            from_code("x", "DBInstanceNotFound", "gone".into()),
            CloudError::NotFound(_)
        ));
        assert!(matches!(
            from_code("x", "InvalidVolume.NotFound", "gone".into()),
            CloudError::NotFound(_)
        ));
        for code in [
            "ThrottlingException",
            "PriorRequestNotComplete",
            "RequestLimitExceeded",
        ] {
            let e = from_code("route53:ChangeResourceRecordSets", code, "slow down".into());
            assert!(
                e.to_string()
                    .contains("throttling route53:ChangeResourceRecordSets"),
                "{e}"
            );
        }
        assert!(from_code("x", "ExpiredToken", "old".into())
            .to_string()
            .contains("aws sso login"));
    }
}
