//! SDK errors as [`CloudError`]s that say what happened and what to do: a missing permission
//! names the IAM action, a silent region says it may be impaired, a refused write says why.

use std::error::Error as StdError;

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::clients::WriteRefused;
use crate::model::CloudError;

/// Maps a failed call of `action` (`ec2:DescribeVolumes`, the IAM action) to a [`CloudError`].
pub fn cloud_error<E>(action: &str, timeout_secs: u64, err: SdkError<E, HttpResponse>) -> CloudError
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    if let Some(refused) = find::<WriteRefused>(&err) {
        return CloudError::Refused(refused.to_string());
    }
    match &err {
        SdkError::TimeoutError(_) => return CloudError::Timeout(timeout_secs),
        SdkError::DispatchFailure(d) if d.is_timeout() => return CloudError::Timeout(timeout_secs),
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
    let code = err.code().unwrap_or("Unknown").to_string();
    let message = err
        .message()
        .map(str::to_string)
        .unwrap_or_else(|| DisplayErrorContext(&err).to_string());
    from_code(action, &code, message)
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
        "Throttling"
        | "ThrottlingException"
        | "ThrottledException"
        | "RequestThrottled"
        | "RequestThrottledException"
        | "RequestLimitExceeded"
        | "TooManyRequestsException"
        | "ProvisionedThroughputExceededException"
        | "EC2ThrottledException"
        | "SlowDown"
        | "PriorRequestNotComplete" => {
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

/// The innermost error's words (`Connection refused (os error 111)`).
fn root_cause(err: &(dyn StdError + 'static)) -> String {
    let mut cur = err;
    while let Some(next) = cur.source() {
        cur = next;
    }
    cur.to_string()
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
