//! `drill --unattended`: the runner driven to the end with nobody at the console. Gates are
//! confirmed by the drill itself (recorded as unattended), people's steps take their expected
//! time, and simulated time jumps from one event to the next.

use super::clock::{Clock, VirtualClock};
use super::runner::{Observer, Runner};
use crate::cloud::{Mutate, Observe};
use crate::engine::{Input, RunStatus};

/// Drives the run to its end; a run that blocks (a step failed for good) is aborted with why.
pub async fn run_to_end<B, O>(runner: &mut Runner<B, VirtualClock, O>) -> RunStatus
where
    B: Observe + Mutate + Send + Sync + 'static,
    O: Observer,
{
    loop {
        runner.observe_if_due();
        runner.pump();
        // Nobody is there to retry or skip a step that failed for good.
        if let RunStatus::Blocked(why) = runner.status().clone() {
            runner.push(Input::Abort {
                reason: format!("unattended drill stopped: {why}"),
            });
            runner.pump();
        }
        if runner.ended() {
            return runner.status().clone();
        }
        // Whatever is on its way (an answer, a gate's look, a status round) comes in before
        // time may pass: nobody is there to do anything meanwhile. (Against the simulated
        // world, which answers at once, nothing ever is.)
        if runner.expecting() {
            runner.answered().await;
            continue;
        }
        let wake = [runner.engine().next_wake(), runner.next_timer()]
            .into_iter()
            .flatten()
            .min();
        let Some(wake) = wake else {
            runner.push(Input::Abort {
                reason: "unattended drill stopped: nothing left to wait for (this is a bug in pilotlight)".into(),
            });
            continue;
        };
        // Status rounds happen while waiting, but never keep an idle run alive.
        let now = runner.clock().now();
        let wake = runner.next_status().map_or(wake, |s| s.min(wake).max(now));
        runner.clock_mut().advance_to(wake).await;
        runner.fire_timers();
        runner.push(Input::Tick);
    }
}
