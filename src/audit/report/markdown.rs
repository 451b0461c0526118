//! The report as Markdown: a header with the verdicts, a timeline table, then each step's
//! events in the order they happened.

use chrono::{DateTime, NaiveDate, Utc};

use super::events;
use super::text::{code, dur, esc, opt, signed};
use super::{Report, RollbackOutcome, RtoVerdict, RunOutcome, StepReport, StepStatus};

/// Renders the report as Markdown (readable as plain text in a terminal too).
pub fn markdown(r: &Report) -> String {
    let mut md = Md {
        out: String::new(),
        t0: r.started_at,
        day0: r.started_at.map(|t| t.date_naive()),
    };
    md.header(r);
    md.table(r);
    md.details(r);
    md.rollback(r);
    if !r.notes.is_empty() {
        md.line("\n## Notes\n");
        for n in &r.notes {
            md.line(format!("- {}", esc(n)));
        }
    }
    md.out
}

struct Md {
    out: String,
    t0: Option<DateTime<Utc>>,
    day0: Option<NaiveDate>,
}

impl Md {
    fn line(&mut self, s: impl AsRef<str>) {
        self.out.push_str(s.as_ref());
        self.out.push('\n');
    }

    /// `10:51:35 (T+5m)`, with the date when the run has crossed midnight.
    fn when(&self, t: DateTime<Utc>) -> String {
        let clock = if Some(t.date_naive()) == self.day0 {
            t.format("%H:%M:%S").to_string()
        } else {
            t.format("%Y-%m-%d %H:%M:%S").to_string()
        };
        match self.t0 {
            Some(t0) => format!("{clock} (T+{})", dur((t - t0).num_seconds().max(0) as u64)),
            None => clock,
        }
    }

    fn header(&mut self, r: &Report) {
        self.line(format!("# Post-incident report: {}\n", code(&r.runbook)));
        if let Some(title) = &r.title {
            self.line(format!("{}\n", esc(title)));
        }
        if r.simulated_time {
            self.line("> **DRILL**: a rehearsal against the simulated world. All times are simulated: the drill's clock started at the real time the drill began and then jumped from event to event, so times and durations are simulated ones.\n");
        } else {
            self.line("> **LIVE** run: times are wall-clock UTC as recorded by the journal.\n");
        }
        if let Some(id) = &r.run_id {
            self.line(format!("- **Run:** {}", code(id)));
        }
        let journal = self.journal_line(r);
        self.line(format!("- **Journal:** {journal}"));
        let who: Vec<String> = r.operators.iter().map(|o| code(o)).collect();
        self.line(format!("- **Operators:** {}", who.join(", ")));
        if let Some(arn) = &r.aws_principal {
            self.line(format!("- **AWS principal:** {}", code(arn)));
        }
        let full = |t: Option<DateTime<Utc>>| {
            t.map_or("-".into(), |t| {
                t.format("%Y-%m-%d %H:%M:%S%.3f UTC").to_string()
            })
        };
        self.line(format!("- **Started:** {}", full(r.started_at)));
        self.line(format!("- **Ended:** {}", full(r.ended_at)));
        let outcome = match &r.outcome {
            RunOutcome::Finished => "finished".to_string(),
            RunOutcome::Aborted { reason, step } => {
                let at = opt(step.as_ref(), |s| format!(" at step {}", code(s)));
                format!("**ABORTED**{at}: {}", esc(reason))
            }
            RunOutcome::Unfinished => "**UNFINISHED**: the journal has no end record (the run is still going, or its process died)".into(),
        };
        self.line(format!("- **Outcome:** {outcome}"));
        if r.service_restored_by.is_some() {
            let what = if r.failback_secs.is_some() {
                "failback included"
            } else {
                "failback not finished"
            };
            self.line(format!(
                "- **Total:** {}, {what}",
                r.duration_secs.map_or("-".into(), dur)
            ));
            self.line(format!("- **Recovery:** {}", rto_line(r)));
            if let Some(f) = r.failback_secs {
                let target = opt(r.failback_target_secs.as_ref(), |t| {
                    let word = if f <= *t { "within" } else { "**OVER**" };
                    format!(" against the failback target of {}: {word}", dur(*t))
                });
                self.line(format!("- **Failback:** {}{target}", dur(f)));
            }
        } else {
            self.line(format!("- **Total:** {}", rto_line(r)));
        }
        if let Some(e) = r.expected_total_secs {
            let none = match r.steps_without_expectation {
                0 => String::new(),
                1 => format!("; 1 of {} steps has none", r.steps.len()),
                n => format!("; {n} of {} steps have none", r.steps.len()),
            };
            self.line(format!(
                "- **Expected:** {} (the sum of the runbook's expected durations{none})",
                dur(e)
            ));
        }
        self.line(format!("- **Waiting at gates:** {}", dur(r.gate_wait_secs)));
        for x in &r.resumptions {
            let at_step = opt(x.at_step.as_ref(), |s| format!(" at step {}", code(s)));
            let gap = match x.gap_secs {
                Some(g) if g > 0 => format!(", after standing still for {}", dur(g)),
                _ => String::new(),
            };
            let principal = opt(x.aws_principal.as_ref(), |a| format!(" as {}", code(a)));
            self.line(format!(
                "- **Resumed:** {} by {}{principal}{at_step}{gap}",
                self.when(x.at),
                code(&x.operator)
            ));
        }
    }

    fn journal_line(&self, r: &Report) -> String {
        let j = &r.journal;
        let mut s = if j.verified {
            format!("intact: {} records, hash chain verified", j.records)
        } else {
            format!("{} records, **not verified**", j.records)
        };
        if let Some(t) = &j.torn_tail {
            s.push_str(&format!(
            "; **the last line ({}, {} bytes) is torn**, as a crash during a write leaves it: this report covers the intact records before it",
            t.line, t.bytes
        ));
        }
        for x in &j.set_aside {
            let line = opt(x.line, |l| format!(" (line {l})"));
            s.push_str(&format!(
                "; a torn line{line} was set aside when the run resumed, at {}",
                self.when(x.at)
            ));
        }
        s
    }

    fn table(&mut self, r: &Report) {
        self.line("\n## Timeline\n");
        self.line(
            "| # | Step | Outcome | Who | Start (UTC) | Took | Expected | vs expected | Tries |",
        );
        self.line(
            "|--:|------|---------|-----|-------------|-----:|---------:|------------:|------:|",
        );
        for (i, s) in r.steps.iter().enumerate() {
            let start = s.started_at.map_or("-".into(), |t| self.when(t));
            let who: Vec<String> = s.operators.iter().map(|o| esc(o)).collect();
            let vs = s.over_expected_secs.map_or("-".into(), signed);
            let row = [
                (i + 1).to_string(),
                code(&s.id),
                status(s.status).to_string(),
                who.join(", "),
                start,
                s.duration_secs.map_or("-".into(), dur),
                s.expected_secs.map_or("-".into(), dur),
                vs,
                s.attempts.to_string(),
            ];
            let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
            self.line(format!("| {} |", cells.join(" | ")));
        }
    }

    fn details(&mut self, r: &Report) {
        self.line("\n## Steps");
        let mut unreached = Vec::new();
        for (i, s) in r.steps.iter().enumerate() {
            if s.status == StepStatus::NotStarted {
                unreached.push(code(&s.id));
                continue;
            }
            let title = s.title.as_ref().map(|t| format!(": {}", esc(t)));
            self.line(format!(
                "\n### {}. {}{}\n",
                i + 1,
                code(&s.id),
                title.unwrap_or_default()
            ));
            self.step_summary(s);
            let events = events::of_step(r, s);
            if !events.is_empty() || s.result.is_some() {
                self.line("");
            }
            for (at, line) in events {
                self.line(format!("- {}: {line}", self.when(at)));
            }
            if let Some(result) = &s.result {
                self.line(format!("- result: {}", code(result)));
            }
            if let Some(l) = &s.data_lost {
                self.line(format!(
                    "- **data lost** with {}: {} (restored to {}; primary lost {})",
                    code(&l.resource),
                    dur(l.seconds),
                    l.recovery_point_at.format("%Y-%m-%d %H:%M:%S UTC"),
                    l.lost_at.format("%Y-%m-%d %H:%M:%S UTC")
                ));
            }
        }
        if !unreached.is_empty() {
            self.line(format!("\nNot reached: {}.", unreached.join(", ")));
        }
    }

    /// The rollback, when there was one: how it ended, then each step undone, newest first.
    fn rollback(&mut self, r: &Report) {
        let Some(rb) = &r.rollback else {
            return;
        };
        self.line("\n## Rollback\n");
        let began = rb.started_at.map_or("-".into(), |t| self.when(t));
        let why = opt(rb.reason.as_ref(), |w| format!(": {}", esc(w)));
        self.line(format!("- **Began:** {began}{why}"));
        let outcome = match rb.outcome {
            RollbackOutcome::Finished => {
                format!("finished in {}", rb.duration_secs.map_or("-".into(), dur))
            }
            RollbackOutcome::Stopped => format!(
                "**STOPPED**: {}",
                esc(rb.stop_reason.as_deref().unwrap_or("-"))
            ),
            RollbackOutcome::Unfinished => "**UNFINISHED**: no end record".into(),
        };
        self.line(format!("- **Outcome:** {outcome}"));
        for s in &rb.steps {
            let title = opt(s.title.as_ref(), |t| format!(": {}", esc(t)));
            self.line(format!("\n### Rollback of {}{title}\n", code(&s.id)));
            let span = match (s.started_at, s.ended_at) {
                (Some(a), Some(b)) => format!("{} → {}", self.when(a), self.when(b)),
                (Some(a), None) => format!("from {}", self.when(a)),
                _ => "-".into(),
            };
            let state = match s.status {
                StepStatus::Done => "rolled back",
                other => status(other),
            };
            let took = s.duration_secs.map_or("-".into(), dur);
            self.line(format!("{state} · {span} · took {took}\n"));
            for (at, line) in events::of_step(r, s) {
                self.line(format!("- {}: {line}", self.when(at)));
            }
        }
    }

    fn step_summary(&mut self, s: &StepReport) {
        let kind = opt(s.kind.as_deref(), |k| format!("{} · ", esc(k)));
        let tries = match s.attempts {
            0 => String::new(),
            1 => " on attempt 1".into(),
            n => format!(" after {n} attempts"),
        };
        let span = match (s.started_at, s.ended_at) {
            (Some(a), Some(b)) => format!("{} → {}", self.when(a), self.when(b)),
            (Some(a), None) => format!("from {}", self.when(a)),
            _ => "-".into(),
        };
        let took = s.duration_secs.map_or("-".into(), dur);
        let expected = match (s.expected_secs, s.over_expected_secs) {
            _ if s.duration_source.as_deref() == Some("assumed") => {
                "**not timed**: its expected time stands in".into()
            }
            (Some(e), Some(o)) => format!("expected {}, {}", dur(e), signed(o)),
            (Some(e), None) => format!("expected {}", dur(e)),
            (None, _) => "no expected duration".into(),
        };
        let who: Vec<String> = s.operators.iter().map(|o| code(o)).collect();
        self.line(format!(
            "{kind}{}{tries} · {span} · took {took} ({expected}) · by {}",
            status(s.status),
            who.join(", ")
        ));
    }
}

fn rto_line(r: &Report) -> String {
    // With a service-restored step, the verdict is about that step's end.
    let took = match (&r.service_restored_by, r.service_restored_secs) {
        (Some(step), Some(at)) => format!("service restored at T+{} (step `{}`)", dur(at), step),
        (Some(step), None) => format!(
            "{}, service not restored (step `{}` not done)",
            r.duration_secs.map_or("-".into(), dur),
            step
        ),
        (None, _) => r.duration_secs.map_or("-".into(), dur),
    };
    let Some(target) = r.rto.target_secs.map(dur) else {
        return format!("{took} (the journal names no RTO target)");
    };
    let margin = r.rto.margin_secs.unwrap_or(0);
    match r.rto.verdict {
        RtoVerdict::Within => format!(
            "{took} against the RTO target of {target}: **within the target**, {} to spare",
            dur(margin.unsigned_abs())
        ),
        RtoVerdict::Over => format!(
            "{took} against the RTO target of {target}: **OVER the target by {}**",
            dur(margin.unsigned_abs())
        ),
        RtoVerdict::NotRecovered if r.service_restored_by.is_some() => format!(
            "{took}, against the RTO target of {target}: **not recovered** by this run"
        ),
        RtoVerdict::NotRecovered => format!(
            "{took} until the run was aborted, against the RTO target of {target}: **not recovered** by this run"
        ),
        RtoVerdict::Unknown => format!(
            "{took} so far against the RTO target of {target}: unknown, the run has not ended"
        ),
    }
}

fn status(s: StepStatus) -> &'static str {
    match s {
        StepStatus::Done => "done",
        StepStatus::Failed => "**FAILED**",
        StepStatus::Skipped => "skipped",
        StepStatus::Aborted => "**ABORTED**",
        StepStatus::InProgress => "in progress",
        StepStatus::NotStarted => "not reached",
    }
}
