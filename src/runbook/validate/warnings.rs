//! What `validate` warns about: a runbook that loads and runs, but may not do what its author
//! expects when the primary region is down.

use super::Checker;
use crate::runbook::diagnostic::Diagnostic;
use crate::runbook::model::{Runbook, StepBody};
use crate::runbook::params::ActionParams;
use crate::runbook::source::Seg;

impl Checker<'_> {
    pub(super) fn warnings(&self, book: &Runbook) -> Vec<Diagnostic> {
        let mut out = Vec::new();
        // Well-shaped regions no partition is known to have: a typo, or a region newer than
        // this pilotlight (new ones appear), so a warning, not an error.
        let mut regions: Vec<(Vec<Seg<'_>>, &str)> = Vec::new();
        if let Some(f) = &book.failover {
            regions.push((vec![Seg::Key("regions"), Seg::Key("primary")], &f.primary));
            regions.push((vec![Seg::Key("regions"), Seg::Key("recovery")], &f.recovery));
        }
        for (name, res) in &book.resources {
            if let Some(r) = &res.region {
                regions.push((
                    vec![Seg::Key("resources"), Seg::Key(name), Seg::Key("region")],
                    r,
                ));
            }
        }
        for (path, region) in regions {
            if !super::KNOWN_REGIONS.contains(&region) {
                out.push(
                    Diagnostic::warning(
                        self.tree.locate(&path),
                        format!("`{region}` is not a region this pilotlight knows of"),
                    )
                    .hint("check the name (`aws ec2 describe-regions`); a region newer than this pilotlight is fine"),
                );
            }
        }
        for (i, step) in book.steps.iter().enumerate() {
            let StepBody::Action { call, resource, .. } = &step.body else {
                continue;
            };
            let at = |key: &'static str| {
                self.tree
                    .locate(&[Seg::Key("steps"), Seg::Index(i), Seg::Key(key)])
            };
            if let Some(risk) = book.control_plane_risk(step) {
                out.push(Diagnostic::warning(at("action"), risk).hint(
                    "prefer a data-plane failover that needs no change during the event (Route 53 \
                     failover records on health checks, ARC routing controls): see runbooks/README.md",
                ));
            }
            let source = book
                .resources
                .get(resource)
                .and_then(|r| r.region.as_deref());
            let into = call.params.region().and_then(|r| r.as_literal());
            if let (ActionParams::DynamodbRestorePointInTime(_), Some(from), Some(to)) =
                (&call.params, source, &into)
            {
                if from != to {
                    out.push(
                        Diagnostic::warning(
                            at("with"),
                            format!("a point-in-time restore into {to} reads the table's backups in {from}: it fails while {from} is down"),
                        )
                        .hint("for a region loss, keep AWS Backup copies in the recovery region and restore one with `backup.start-restore`"),
                    );
                }
            }
            let no_subnet_group = match &call.params {
                ActionParams::RdsRestoreSnapshot(p) => p.subnet_group.is_none(),
                ActionParams::RdsRestorePointInTime(p) => p.subnet_group.is_none(),
                _ => false,
            };
            if no_subnet_group {
                out.push(
                    Diagnostic::warning(
                        at("with"),
                        "without `subnet_group` AWS restores the DB instance into the region's default VPC, where the applications may not reach it",
                    )
                    .hint("name the DB subnet group of the recovery VPC: `subnet_group: NAME`"),
                );
            }
        }
        out
    }
}
