//! Building a [`Report`] from journal records: one pass, in journal order.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::step::{secs_between, text};
use super::{
    clean, JournalCheck, Report, Resumption, Rto, RtoVerdict, RunOutcome, SetAside, StepReport,
    StepStatus,
};
use crate::audit::{Event, EventKind, Mode, Record};

/// Builds the timeline of the run these records tell (in journal order).
pub fn build(records: &[Record]) -> Report {
    let first = records.first();
    let mode = first.map_or(Mode::Drill, |r| r.mode);
    let mut b = Builder {
        r: Report {
            runbook: first.map(|r| clean(&r.runbook)).unwrap_or_default(),
            title: None,
            run_id: None,
            mode,
            simulated_time: mode == Mode::Drill,
            started_at: None,
            ended_at: None,
            duration_secs: None,
            service_restored_secs: None,
            service_restored_by: None,
            failback_secs: None,
            failback_target_secs: None,
            outcome: RunOutcome::Unfinished,
            rto: Rto {
                target_secs: None,
                verdict: RtoVerdict::Unknown,
                margin_secs: None,
            },
            expected_total_secs: None,
            steps_without_expectation: 0,
            gate_wait_secs: 0,
            operators: Vec::new(),
            aws_principal: None,
            resumptions: Vec::new(),
            journal: JournalCheck {
                verified: false,
                records: records.len(),
                torn_tail: None,
                set_aside: Vec::new(),
            },
            notes: Vec::new(),
            steps: Vec::new(),
            rollback: None,
        },
        index: HashMap::new(),
        prev_at: None,
    };
    if first.is_some_and(|r| r.kind() != EventKind::RunStarted) {
        b.note("the journal does not begin with a run-started record".into());
    }
    for rec in records {
        b.apply(rec);
    }
    b.finish(records.last().map(|r| r.at))
}

struct Builder {
    r: Report,
    index: HashMap<String, usize>,
    prev_at: Option<DateTime<Utc>>,
}

impl Builder {
    fn note(&mut self, text: String) {
        if !self.r.notes.contains(&text) {
            self.r.notes.push(text);
        }
    }

    fn step(&mut self, id: &str, seq: u64, planned: bool) -> &mut StepReport {
        let i = match self.index.get(id) {
            Some(i) => *i,
            None => {
                if !planned {
                    self.note(format!(
                        "record {seq} names step `{id}`, which is not in the run-started plan"
                    ));
                }
                self.r.steps.push(StepReport {
                    id: id.to_string(),
                    ..StepReport::default()
                });
                self.index.insert(id.to_string(), self.r.steps.len() - 1);
                self.r.steps.len() - 1
            }
        };
        &mut self.r.steps[i]
    }

    fn apply(&mut self, rec: &Record) {
        let operator = clean(&rec.operator);
        if !self.r.operators.contains(&operator) {
            self.r.operators.push(operator.clone());
        }
        let at = rec.at;
        if rec.event.is_rollback() {
            let rollback = self.r.rollback.get_or_insert_with(Default::default);
            let step = rec.step.as_deref();
            rollback.apply(&rec.event, step, at, &operator, &self.r.steps);
            self.prev_at = Some(at);
            return;
        }
        match (&rec.event, &rec.step) {
            (Event::RunStarted(d), _) => {
                self.r.started_at.get_or_insert(at);
                self.r.title = Some(clean(&d.title));
                self.r.run_id = Some(clean(&d.run_id));
                self.r.rto.target_secs = Some(d.rto_target_secs);
                self.r.service_restored_by = d.restores_service.as_deref().map(clean);
                self.r.failback_target_secs = d.failback_target_secs;
                let live = d.context.as_ref().and_then(|c| c.live.as_ref());
                self.r.aws_principal = live.map(|l| clean(&l.aws.arn));
                for s in &d.steps {
                    let id = clean(&s.id);
                    let step = self.step(&id, rec.seq, true);
                    step.title = Some(clean(&s.title));
                    step.kind = s.kind.map(|k| k.name().to_string());
                    step.expected_secs = s.expected_secs;
                }
            }
            (Event::RunResumed(d), _) => self.r.resumptions.push(Resumption {
                at,
                operator: operator.clone(),
                at_step: text(&d.at_step),
                gap_secs: self.prev_at.map(|p| secs_between(p, at)),
                aws_principal: d.aws.as_ref().map(|a| clean(&a.arn)),
            }),
            (Event::RunFinished(_), _) => {
                self.r.ended_at = Some(at);
                self.r.outcome = RunOutcome::Finished;
            }
            (Event::RunAborted(d), step) => {
                self.r.ended_at = Some(at);
                let step = step.as_deref().map(clean);
                if let Some(id) = &step {
                    let s = self.step(id, rec.seq, false);
                    s.operators_add(&operator);
                    if s.status == StepStatus::InProgress {
                        s.status = StepStatus::Aborted;
                        s.ended_at = Some(at);
                    }
                }
                self.r.outcome = RunOutcome::Aborted {
                    reason: clean(&d.reason),
                    step,
                };
            }
            (Event::TornTailSetAside(d), _) => self.r.journal.set_aside.push(SetAside {
                at,
                line: Some(d.line),
                bytes: Some(d.bytes),
            }),
            (Event::Error(d), None) => {
                let what = clean(&d.error);
                self.note(format!(
                    "error at {}: {what}",
                    crate::audit::format_time(at)
                ));
            }
            (Event::StatusSnapshot(_) | Event::RunPaused(_), _) => {}
            (event, Some(id)) => {
                let id = clean(id);
                let s = self.step(&id, rec.seq, false);
                s.operators_add(&operator);
                // A second approver had a hand in the step too.
                if let Event::GateApproved(g) = event {
                    if let Some(second) = &g.second {
                        s.operators_add(&clean(&second.operator));
                    }
                }
                s.apply(event, at, &operator);
            }
            (event, None) => self.note(format!(
                "record {} ({:?}) names no step; left out",
                rec.seq,
                event.kind()
            )),
        }
        self.prev_at = Some(at);
    }

    fn finish(mut self, last_at: Option<DateTime<Utc>>) -> Report {
        let r = &mut self.r;
        if let Some(rollback) = &mut r.rollback {
            rollback.finish();
        }
        let t0 = r.started_at;
        if let (Some(t0), Some(end)) = (t0, r.ended_at.or(last_at)) {
            r.duration_secs = Some(secs_between(t0, end));
        }
        let mut expected = 0;
        for s in &mut r.steps {
            match s.expected_secs {
                // Journal text is untrusted: huge numbers saturate instead of overflowing.
                Some(e) => expected = u64::saturating_add(expected, e),
                None => r.steps_without_expectation += 1,
            }
            if let (Some(a), Some(b)) = (s.started_at, s.ended_at) {
                s.duration_secs = Some(secs_between(a, b));
            }
            s.start_offset_secs = t0.zip(s.started_at).map(|(a, b)| secs_between(a, b));
            if let (StepStatus::Done, Some(took), Some(e)) =
                (s.status, s.duration_secs, s.expected_secs)
            {
                s.over_expected_secs = Some(took as i64 - e as i64);
            }
            let waited = s
                .gates
                .iter()
                .filter_map(|g| g.waited_secs)
                .fold(0u64, u64::saturating_add);
            r.gate_wait_secs = r.gate_wait_secs.saturating_add(waited);
        }
        r.expected_total_secs = (r.steps.len() > r.steps_without_expectation).then_some(expected);
        // The service was back when its step was done (or skipped): the RTO verdict is about
        // that moment, and what came after is failback.
        let milestone = r
            .service_restored_by
            .as_ref()
            .and_then(|id| r.steps.iter().find(|s| &s.id == id))
            .filter(|s| matches!(s.status, StepStatus::Done | StepStatus::Skipped))
            .and_then(|s| s.ended_at);
        if let (Some(at), Some(start)) = (milestone, r.started_at) {
            let restored = (at - start).num_seconds().max(0) as u64;
            r.service_restored_secs = Some(restored);
            if r.outcome == RunOutcome::Finished {
                r.failback_secs = r.duration_secs.map(|d| d.saturating_sub(restored));
            }
        }
        if let (Some(target), Some(took)) = (r.rto.target_secs, r.duration_secs) {
            let (took, restored) = match r.service_restored_secs {
                Some(at) => (at, true),
                None => (
                    took,
                    r.outcome == RunOutcome::Finished && r.service_restored_by.is_none(),
                ),
            };
            if restored {
                r.rto.margin_secs = Some(target as i64 - took as i64);
            }
            r.rto.verdict = match r.outcome {
                _ if restored && took <= target => RtoVerdict::Within,
                _ if restored => RtoVerdict::Over,
                RunOutcome::Aborted { .. } | RunOutcome::Finished => RtoVerdict::NotRecovered,
                RunOutcome::Unfinished => RtoVerdict::Unknown,
            };
        }
        self.r
    }
}
