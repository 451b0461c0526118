//! What every command needs first: the runbook, read and validated; the AWS timeouts; who is
//! at the keyboard.

/// Who is at the keyboard: `--operator`, else `$PILOTLIGHT_OPERATOR`, else the login name. A
/// name the journal could not show as written is refused.
pub(super) fn operator_name(given: Option<&str>) -> Result<String, std::process::ExitCode> {
    let name = given.map_or_else(crate::runtime::paths::operator, |n| n.trim().to_string());
    if name.is_empty() || name.chars().any(crate::safe::is_hidden) || name.chars().count() > 64 {
        tell!("error: the operator name `{name}` cannot go in the journal: use 1-64 visible characters (--operator NAME or PILOTLIGHT_OPERATOR)");
        return Err(std::process::ExitCode::from(2));
    }
    Ok(name)
}

/// Reads and validates a runbook, printing its problems (as `validate` does) when it is invalid.
pub(crate) fn load_runbook(path: &std::path::Path) -> Option<crate::runbook::Runbook> {
    let shown = path.display().to_string();
    let bytes = match super::validate::read_limited(path) {
        Ok(b) => b,
        Err(e) => {
            tell!("{shown}: error: cannot read the runbook: {e}");
            return None;
        }
    };
    match parse_with_templates(path, &bytes) {
        Ok(rb) => Some(rb),
        Err(err) => {
            for d in err.diagnostics() {
                tell!("{}", d.render(&shown));
            }
            tell!("{shown}: the runbook has problems; fix them (`pilotlight validate {shown}`) and try again");
            None
        }
    }
}

/// Parses a runbook and reads the templates its steps deploy, relative to its folder.
pub(crate) fn parse_with_templates(
    path: &std::path::Path,
    bytes: &[u8],
) -> Result<crate::runbook::Runbook, crate::runbook::LoadError> {
    let mut rb = crate::runbook::parse(bytes)?;
    let folder = path.parent().unwrap_or(std::path::Path::new("."));
    let problems = rb.read_templates(|t| {
        let file = folder.join(t);
        let bytes = super::validate::read_limited(&file).map_err(|e| e.to_string())?;
        String::from_utf8(bytes).map_err(|_| "it is not UTF-8 text".to_string())
    });
    if problems.is_empty() {
        Ok(rb)
    } else {
        Err(crate::runbook::LoadError(problems))
    }
}

/// AWS call timeouts (`PILOTLIGHT_AWS_TIMEOUT`), or the reason they are unusable, printed.
pub(crate) fn aws_timeouts() -> Option<crate::cloud::aws::Timeouts> {
    match crate::cloud::aws::Timeouts::from_env() {
        Ok(t) => Some(t),
        Err(e) => {
            tell!("error: {e}");
            None
        }
    }
}
