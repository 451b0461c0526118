//! CloudFormation deployments through a change set: the gate's look creates it (named after the
//! attempt's token, so it is made once and its contents never change) and shows what it would
//! add, modify, replace or remove; the approval executes that change set, by the same name;
//! progress is the stack's status, a failure the first resource that failed in this execution.

use aws_sdk_cloudformation::types::{ChangeSetStatus, ChangeSetType, ExecutionStatus};

use super::{params, progress, region, started};
use crate::cloud::aws::AwsCloud;
use crate::model::{ActionPlan, CloudError, Progress, Started};
use crate::runbook::params::CloudformationDeploy;
use crate::runbook::Resource;

type ChangeSet = aws_sdk_cloudformation::operation::describe_change_set::DescribeChangeSetOutput;

/// How often, a second apart, the change set is asked for while CloudFormation makes it.
const CREATE_POLLS: u32 = 120;

fn stack_name(p: &CloudformationDeploy<String>, resource: &Resource) -> String {
    p.stack_name.clone().unwrap_or_else(|| resource.id.clone())
}

/// Whether CloudFormation refused the change set because the stack already is as asked.
fn no_changes(cs: &ChangeSet) -> bool {
    cs.status() == Some(&ChangeSetStatus::Failed)
        && cs.status_reason().is_some_and(|r| {
            r.contains("didn't contain changes") || r.contains("No updates are to be performed")
        })
}

/// The gate's text: each change, a replacement marked.
fn describe(cs: &ChangeSet) -> String {
    let mut lines = vec![format!(
        "change set {} for stack {}: {} change(s)",
        cs.change_set_name().unwrap_or_default(),
        cs.stack_name().unwrap_or_default(),
        cs.changes().len()
    )];
    if no_changes(cs) {
        lines.push("  no changes: the stack is already as the template says".into());
    } else if cs.status() == Some(&ChangeSetStatus::Failed) {
        lines.push(format!(
            "  FAILED: {}; nothing can run",
            cs.status_reason().unwrap_or("no reason given")
        ));
    }
    for c in cs.changes() {
        let Some(r) = c.resource_change() else {
            continue;
        };
        let action = r.action().map_or("?", |a| a.as_str());
        let replacement = r.replacement().map(|x| x.as_str());
        let sign = match (action, replacement) {
            ("Add", _) => "+",
            ("Remove", _) => "-",
            (_, Some("True" | "Conditional")) => "!",
            _ => "~",
        };
        let mut line = format!(
            "  {sign} {action:<7} {} ({})",
            r.logical_resource_id().unwrap_or("?"),
            r.resource_type().unwrap_or("?")
        );
        if let Some(x) = replacement.filter(|_| action == "Modify") {
            line.push_str(&format!(" replacement: {x}"));
        }
        lines.push(line);
    }
    lines.join("\n")
}

impl AwsCloud {
    fn deploy_target(&self, plan: &ActionPlan) -> Result<(String, String), CloudError> {
        let p = params!(plan, CloudformationDeploy);
        let resource = self
            .runbook
            .resources
            .get(&plan.resource)
            .ok_or_else(|| CloudError::NotFound(format!("resource `{}`", plan.resource)))?;
        Ok((stack_name(p, resource), plan.token.clone()))
    }

    /// The attempt's change set, when it exists.
    async fn change_set(&self, plan: &ActionPlan) -> Result<Option<ChangeSet>, CloudError> {
        let (stack, name) = self.deploy_target(plan)?;
        let call = self
            .clients
            .cloudformation(region(plan)?)
            .describe_change_set()
            .stack_name(&stack)
            .change_set_name(&name)
            .send();
        match call.await {
            Ok(cs) => self.all_changes(plan, &stack, cs).await.map(Some),
            Err(e) => match self.fail("cloudformation:DescribeChangeSet", e) {
                CloudError::NotFound(_) => Ok(None),
                // "ChangeSet [...] does not exist" and "Stack [...] does not exist".
                CloudError::Api { code, message }
                    if code == "ValidationError" && message.contains("does not exist") =>
                {
                    Ok(None)
                }
                other => Err(other),
            },
        }
    }

    /// The change set with every page of its changes (DescribeChangeSet gives them in pages).
    async fn all_changes(
        &self,
        plan: &ActionPlan,
        stack: &str,
        mut cs: ChangeSet,
    ) -> Result<ChangeSet, CloudError> {
        let mut changes = cs.changes().to_vec();
        let mut next = cs.next_token().map(str::to_string);
        while let Some(token) = next.take() {
            let page = self
                .clients
                .cloudformation(region(plan)?)
                .describe_change_set()
                .stack_name(stack)
                .change_set_name(&plan.token)
                .next_token(token)
                .send()
                .await
                .map_err(|e| self.fail("cloudformation:DescribeChangeSet", e))?;
            changes.extend(page.changes().iter().cloned());
            next = page.next_token().map(str::to_string);
        }
        cs.changes = Some(changes);
        cs.next_token = None;
        Ok(cs)
    }

    /// The attempt's change set, created when it does not exist yet, once CloudFormation has
    /// worked out its changes.
    pub(super) async fn ready_change_set(
        &self,
        plan: &ActionPlan,
    ) -> Result<ChangeSet, CloudError> {
        if self.change_set(plan).await?.is_none() {
            self.create_change_set(plan).await?;
        }
        for _ in 0..CREATE_POLLS {
            let cs = self.change_set(plan).await?.ok_or_else(|| {
                CloudError::NotFound(format!(
                    "change set {} was removed while CloudFormation made it (another change on the stack?)",
                    plan.token
                ))
            })?;
            let pending = matches!(
                cs.status(),
                Some(ChangeSetStatus::CreatePending | ChangeSetStatus::CreateInProgress)
            );
            if !pending {
                return Ok(cs);
            }
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
        Err(CloudError::Api {
            code: "ChangeSetNotReady".into(),
            message: format!(
                "CloudFormation has not worked out change set {} after {CREATE_POLLS} s; look at it in the CloudFormation console",
                plan.token
            ),
        })
    }

    async fn create_change_set(&self, plan: &ActionPlan) -> Result<(), CloudError> {
        let p = params!(plan, CloudformationDeploy);
        let (stack, name) = self.deploy_target(plan)?;
        let body = self.runbook.template_body(&p.template).ok_or_else(|| {
            CloudError::Refused(format!(
                "template `{}` was not read with the runbook; start pilotlight again from the runbook file, which reads it",
                p.template
            ))
        })?;
        let region = region(plan)?;
        // A stack that exists is updated; one that does not (or only ever had a change set
        // created) is created.
        let existing = self
            .clients
            .cloudformation(region)
            .describe_stacks()
            .stack_name(&stack)
            .send()
            .await;
        let kind = match existing {
            Ok(out) => match out.stacks().first().and_then(|s| s.stack_status()) {
                // A stack whose creation rolled back can only be deleted.
                Some(s) if s.as_str() == "ROLLBACK_COMPLETE" => {
                    return Err(CloudError::Refused(format!(
                        "stack {stack} is ROLLBACK_COMPLETE (its creation failed): delete it, then retry"
                    )))
                }
                Some(s) if s.as_str() != "REVIEW_IN_PROGRESS" => ChangeSetType::Update,
                _ => ChangeSetType::Create,
            },
            Err(e) => match self.fail("cloudformation:DescribeStacks", e) {
                CloudError::Api { code, message }
                    if code == "ValidationError" && message.contains("does not exist") =>
                {
                    ChangeSetType::Create
                }
                CloudError::NotFound(_) => ChangeSetType::Create,
                other => return Err(other),
            },
        };
        let parameters = p
            .parameters
            .iter()
            .map(|(k, v)| {
                aws_sdk_cloudformation::types::Parameter::builder()
                    .parameter_key(k)
                    .parameter_value(v)
                    .build()
            })
            .collect();
        let capabilities = p
            .capabilities
            .iter()
            .map(|c| aws_sdk_cloudformation::types::Capability::from(c.name()))
            .collect();
        self.clients
            .change()
            .cloudformation(region)
            .create_change_set()
            .stack_name(&stack)
            .change_set_name(&name)
            .change_set_type(kind)
            .template_body(body)
            .set_parameters(Some(parameters))
            .set_capabilities(Some(capabilities))
            .client_token(&plan.token)
            .description(format!("pilotlight run {} step {}", plan.run, plan.step))
            .send()
            .await
            .map_err(|e| self.fail("cloudformation:CreateChangeSet", e))?;
        Ok(())
    }

    /// What the gate shows: the change set the approval will execute.
    pub(crate) async fn change_set_preview(&self, plan: &ActionPlan) -> Result<String, CloudError> {
        Ok(describe(&self.ready_change_set(plan).await?))
    }

    pub(super) async fn deploy(&self, plan: &ActionPlan) -> Result<Started, CloudError> {
        // Only the change set the gate showed runs: none is made here.
        let cs = self.change_set(plan).await?.ok_or_else(|| {
            CloudError::Refused(format!(
                "change set {} is not there (it was never shown, or it was removed after the gate, e.g. because another change set ran on the stack); retry (r) makes a new one and shows it at the gate",
                plan.token
            ))
        })?;
        if matches!(
            cs.status(),
            Some(ChangeSetStatus::CreatePending | ChangeSetStatus::CreateInProgress)
        ) {
            return Err(CloudError::Refused(format!(
                "change set {} is still being made; retry once the gate shows it",
                plan.token
            )));
        }
        let outputs = outputs_of(&cs);
        if no_changes(&cs) {
            return Ok(started(&outputs, false));
        }
        if cs.status() == Some(&ChangeSetStatus::Failed) {
            return Err(CloudError::Api {
                code: "ChangeSetFailed".into(),
                message: format!(
                    "{}; fix the template or its parameters, then retry (r) to make and show a new change set",
                    cs.status_reason().unwrap_or("CloudFormation gave no reason")
                ),
            });
        }
        let (stack, name) = self.deploy_target(plan)?;
        self.clients
            .change()
            .cloudformation(region(plan)?)
            .execute_change_set()
            .stack_name(&stack)
            .change_set_name(&name)
            .client_request_token(&plan.token)
            .send()
            .await
            .map_err(|e| self.fail("cloudformation:ExecuteChangeSet", e))?;
        Ok(started(&outputs, false))
    }

    /// After a crash: the change set, once executed (or found to change nothing), is followed.
    pub(super) async fn find_deploy(
        &self,
        plan: &ActionPlan,
    ) -> Result<Option<Started>, CloudError> {
        let Some(cs) = self.change_set(plan).await? else {
            return Ok(None);
        };
        let executed = matches!(
            cs.execution_status(),
            Some(
                ExecutionStatus::ExecuteInProgress
                    | ExecutionStatus::ExecuteComplete
                    | ExecutionStatus::ExecuteFailed
            )
        );
        Ok((executed || no_changes(&cs)).then(|| started(&outputs_of(&cs), true)))
    }

    pub(super) async fn poll_deploy(&self, plan: &ActionPlan) -> Result<Progress, CloudError> {
        let (stack, _) = self.deploy_target(plan)?;
        let region = region(plan)?;
        let cs = self.change_set(plan).await?;
        let out = self
            .clients
            .cloudformation(region)
            .describe_stacks()
            .stack_name(&stack)
            .send()
            .await
            .map_err(|e| self.fail("cloudformation:DescribeStacks", e))?;
        let status = out
            .stacks()
            .first()
            .and_then(|s| s.stack_status())
            .map_or("unknown", |s| s.as_str())
            .to_string();
        let execution = cs.as_ref().and_then(|c| c.execution_status());
        let unchanged = cs.as_ref().is_some_and(no_changes);
        let done = unchanged
            || (execution == Some(&ExecutionStatus::ExecuteComplete)
                && matches!(
                    status.as_str(),
                    "CREATE_COMPLETE" | "UPDATE_COMPLETE" | "IMPORT_COMPLETE"
                ));
        let failed = !unchanged
            && (execution == Some(&ExecutionStatus::ExecuteFailed)
                || status.contains("ROLLBACK")
                || status.ends_with("_FAILED"));
        let mut p = progress(if done { "complete" } else { status.as_str() });
        if failed {
            let first = self.first_failure(plan, &stack).await;
            p.failed = Some(format!(
                "the stack is {status}: {}",
                first.unwrap_or_else(|| "no resource reported a failure".into())
            ));
        }
        if let Some(cs) = &cs {
            p.outputs = outputs_of(cs)
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
        }
        Ok(p)
    }

    /// The first resource that failed in this attempt's execution, and why (events carry the
    /// execution's request token).
    async fn first_failure(&self, plan: &ActionPlan, stack: &str) -> Option<String> {
        let pages = self
            .clients
            .cloudformation(plan.region.as_deref()?)
            .describe_stack_events()
            .stack_name(stack)
            .into_paginator()
            .send()
            .try_collect()
            .await
            .ok()?;
        // Newest first: the earliest failure of this execution is the last one listed.
        pages
            .iter()
            .flat_map(|p| p.stack_events())
            .rfind(|e| {
                e.client_request_token() == Some(plan.token.as_str())
                    && e.resource_status()
                        .is_some_and(|s| s.as_str().ends_with("_FAILED"))
            })
            .map(|e| {
                format!(
                    "{} ({}) {}: {}",
                    e.logical_resource_id().unwrap_or("?"),
                    e.resource_type().unwrap_or("?"),
                    e.resource_status().map_or("?", |s| s.as_str()),
                    e.resource_status_reason().unwrap_or("no reason given")
                )
            })
    }
}

fn outputs_of(cs: &ChangeSet) -> Vec<(&'static str, String)> {
    vec![
        ("stack_id", cs.stack_id().unwrap_or_default().to_string()),
        (
            "change_set_id",
            cs.change_set_id().unwrap_or_default().to_string(),
        ),
    ]
}
