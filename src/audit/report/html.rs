//! The report as one self-contained HTML page for the post-incident review: the verdicts, an SVG
//! timeline (each step's actual time as a bar over its expected time, the RTO target and the
//! service-restored moment as lines), the steps table and each step's events. Inline styles and
//! SVG only: it opens with no network. Every journal string is HTML-escaped (and was cleaned of
//! control characters when the report was built).

use std::fmt::Write as _;

use super::events;
use super::text::dur;
use super::{Report, RollbackOutcome, RunOutcome, StepReport, StepStatus};

/// Renders the report as HTML.
pub fn html(r: &Report) -> String {
    let mut o = String::new();
    let title = format!("Post-incident report: {}", e(&r.runbook));
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n"
    );
    if let Some(t) = &r.title {
        let _ = writeln!(o, "<p class=\"sub\">{}</p>", e(t));
    }
    let mode = if r.simulated_time {
        "DRILL (simulated time)"
    } else {
        "LIVE"
    };
    o.push_str("<dl>\n");
    let mut item = |k: &str, v: String| {
        let _ = writeln!(o, "<dt>{k}</dt><dd>{v}</dd>");
    };
    item("Mode", mode.to_string());
    if let Some(id) = &r.run_id {
        item("Run", e(id));
    }
    item("Operators", e(&r.operators.join(", ")));
    item("Outcome", e(&outcome(r)));
    item("Total", r.duration_secs.map_or("-".into(), dur));
    if let Some(at) = r.service_restored_secs {
        item("Service restored", format!("T+{}", dur(at)));
    }
    item(
        "RTO",
        format!(
            "target {}: {:?}",
            r.rto.target_secs.map_or("-".into(), dur),
            r.rto.verdict
        ),
    );
    if let Some(rb) = &r.rollback {
        let how = match rb.outcome {
            RollbackOutcome::Finished => "finished".to_string(),
            RollbackOutcome::Stopped => {
                format!("stopped: {}", rb.stop_reason.as_deref().unwrap_or("-"))
            }
            RollbackOutcome::Unfinished => "unfinished".to_string(),
        };
        item("Rollback", e(&how));
    }
    o.push_str("</dl>\n<h2>Timeline</h2>\n");
    o.push_str(&timeline(r));
    o.push_str("<h2>Steps</h2>\n<table>\n<tr><th>#</th><th>Step</th><th>Outcome</th><th>Start</th><th>Took</th><th>Expected</th></tr>\n");
    for (i, s) in r.steps.iter().enumerate() {
        let _ = writeln!(
            o,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            i + 1,
            e(&s.id),
            status(s.status),
            s.start_offset_secs.map_or("-".into(), |t| format!("T+{}", dur(t))),
            s.duration_secs.map_or("-".into(), dur),
            s.expected_secs.map_or("-".into(), dur),
        );
    }
    o.push_str("</table>\n<h2>Events</h2>\n");
    for s in r
        .steps
        .iter()
        .filter(|s| s.status != StepStatus::NotStarted)
    {
        let _ = writeln!(o, "<h3><code>{}</code></h3>\n<ul>", e(&s.id));
        for (at, line) in events::of_step(r, s) {
            let _ = writeln!(
                o,
                "<li><time>{}</time> {}</li>",
                at.format("%Y-%m-%d %H:%M:%S UTC"),
                e(&line)
            );
        }
        o.push_str("</ul>\n");
    }
    if !r.notes.is_empty() {
        o.push_str("<h2>Notes</h2>\n<ul>\n");
        for n in &r.notes {
            let _ = writeln!(o, "<li>{}</li>", e(n));
        }
        o.push_str("</ul>\n");
    }
    o.push_str("</body>\n</html>\n");
    o
}

const STYLE: &str = "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left}dt{font-weight:bold;float:left;width:10em}dd{margin-left:11em}.sub{color:#555}time{color:#555;font-family:monospace}";

/// HTML-escaped text.
fn e(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn outcome(r: &Report) -> String {
    match &r.outcome {
        RunOutcome::Finished => "finished".into(),
        RunOutcome::Aborted { reason, step } => match step {
            Some(s) => format!("ABORTED at step {s}: {reason}"),
            None => format!("ABORTED: {reason}"),
        },
        RunOutcome::Unfinished => "UNFINISHED (no end record)".into(),
    }
}

fn status(s: StepStatus) -> &'static str {
    match s {
        StepStatus::Done => "done",
        StepStatus::Failed => "FAILED",
        StepStatus::Skipped => "skipped",
        StepStatus::Aborted => "ABORTED",
        StepStatus::InProgress => "in progress",
        StepStatus::NotStarted => "not reached",
    }
}

/// Each step as a row: its expected time as an outlined bar, its actual time as a filled one
/// (coloured by outcome), from when it started; the RTO target and the service restored as
/// vertical lines; ticks along the top.
fn timeline(r: &Report) -> String {
    const LABEL: f64 = 190.0;
    const WIDTH: f64 = 760.0;
    const ROW: f64 = 22.0;
    let end = |s: &StepReport| {
        s.start_offset_secs.unwrap_or(0)
            + s.duration_secs
                .unwrap_or(0)
                .max(s.expected_secs.unwrap_or(0))
    };
    let span = r
        .steps
        .iter()
        .map(end)
        .chain(r.rto.target_secs)
        .chain(r.duration_secs)
        .max()
        .unwrap_or(0)
        .max(60) as f64;
    let x = |secs: u64| LABEL + WIDTH * secs as f64 / span;
    let height = 30.0 + ROW * r.steps.len() as f64 + 10.0;
    let mut o = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{}\" height=\"{height}\" role=\"img\" aria-label=\"timeline\">\n",
        LABEL + WIDTH + 20.0
    );
    // Ticks: about eight, on whole minutes.
    let step = ((span / 8.0 / 60.0).ceil().max(1.0) * 60.0) as u64;
    let mut t = 0;
    while t as f64 <= span {
        let _ = writeln!(
            o,
            "<line x1=\"{0:.1}\" y1=\"18\" x2=\"{0:.1}\" y2=\"{1:.1}\" stroke=\"#eee\"/><text x=\"{0:.1}\" y=\"12\" font-size=\"10\" text-anchor=\"middle\">T+{2}</text>",
            x(t),
            height - 10.0,
            dur(t)
        );
        t += step;
    }
    for (i, s) in r.steps.iter().enumerate() {
        let y = 24.0 + ROW * i as f64;
        let _ = writeln!(
            o,
            "<text x=\"4\" y=\"{:.1}\" font-size=\"12\">{}</text>",
            y + 13.0,
            e(&s.id)
        );
        let Some(start) = s.start_offset_secs else {
            continue;
        };
        if let Some(expected) = s.expected_secs {
            let _ = writeln!(
                o,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"16\" fill=\"none\" stroke=\"#888\" stroke-dasharray=\"3,2\"><title>expected {}</title></rect>",
                x(start),
                y,
                (x(start + expected) - x(start)).max(1.0),
                dur(expected)
            );
        }
        let took = s.duration_secs.unwrap_or(0);
        let colour = match s.status {
            StepStatus::Done => "#3a3",
            StepStatus::Failed | StepStatus::Aborted => "#c33",
            StepStatus::Skipped => "#aaa",
            _ => "#38c",
        };
        let _ = writeln!(
            o,
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"10\" fill=\"{colour}\"><title>{} {}: took {}</title></rect>",
            x(start),
            y + 3.0,
            (x(start + took) - x(start)).max(2.0),
            e(&s.id),
            status(s.status),
            dur(took)
        );
    }
    let mut mark = |secs: u64, colour: &str, label: String| {
        let _ = writeln!(
            o,
            "<line x1=\"{0:.1}\" y1=\"18\" x2=\"{0:.1}\" y2=\"{1:.1}\" stroke=\"{colour}\" stroke-dasharray=\"6,3\"/><text x=\"{2:.1}\" y=\"{1:.1}\" font-size=\"10\" fill=\"{colour}\">{label}</text>",
            x(secs),
            height - 2.0,
            x(secs) + 3.0
        );
    };
    if let Some(target) = r.rto.target_secs {
        mark(target, "#c33", format!("RTO target {}", dur(target)));
    }
    if let Some(at) = r.service_restored_secs {
        mark(at, "#3a3", format!("service restored T+{}", dur(at)));
    }
    o.push_str("</svg>\n");
    o
}
