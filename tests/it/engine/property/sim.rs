use super::*;

pub(crate) fn event_name(e: EventKind) -> &'static str {
    e.name()
}

/// An effect as the trace shows it: what it is, with the record's detail and the approval a
/// change rests on.
pub(crate) fn describe(e: &Effect) -> String {
    match e {
        Effect::Record(entry) => format!("{e} {}", entry.event.detail().unwrap()),
        Effect::Mutate { approval, .. } | Effect::RunCommand { approval, .. } => {
            format!("{e} (approval seq {})", approval.journal_seq())
        }
        other => other.to_string(),
    }
}

/// A request the runtime has sent and not yet answered.
#[derive(Debug, Clone)]
pub(crate) enum Request {
    Mutate(ActionPlan),
    Poll(ActionPlan),
    Reconcile(ActionPlan),
    Observe(String),
    Command { step: String, attempt: u32 },
}

/// Driver options.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Options {
    /// Steps have timeouts.
    pub(crate) timeouts: bool,
    /// The process may crash and resume from the durable journal.
    pub(crate) crashes: bool,
    /// The journal catches up before time passes (it is never slower than a step's timeout).
    pub(crate) prompt_journal: bool,
    /// Each seed runs a runbook drawn at random instead of the fixed one.
    pub(crate) random_runbooks: bool,
    pub(crate) actions: usize,
}

pub(crate) const OPTIONS: Options = Options {
    timeouts: false,
    crashes: false,
    prompt_journal: false,
    random_runbooks: false,
    actions: 400,
};

/// What one seeded run did, for the summary.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Stats {
    pub(crate) mutates: usize,
    pub(crate) commands: usize,
    pub(crate) crashes: usize,
    pub(crate) journal_failures: usize,
    pub(crate) finished: usize,
    pub(crate) aborted: usize,
    pub(crate) quiescent: usize,
    /// Times the live state was compared with the fold of its journal.
    pub(crate) replayed: usize,
}

impl Stats {
    pub(crate) fn add(&mut self, s: Stats) {
        self.mutates += s.mutates;
        self.commands += s.commands;
        self.crashes += s.crashes;
        self.journal_failures += s.journal_failures;
        self.finished += s.finished;
        self.aborted += s.aborted;
        self.quiescent += s.quiescent;
        self.replayed += s.replayed;
    }
}

pub(crate) struct Sim {
    pub(crate) seed: u64,
    pub(crate) rng: Rng,
    pub(crate) runbook: Arc<Runbook>,
    pub(crate) engine: Engine,
    pub(crate) now: DateTime<Utc>,
    /// The journal as written: index = seq. After a crash, only what survived.
    pub(crate) log: Vec<Entry>,
    /// How many records (a prefix of `log`) are durable and acknowledged.
    pub(crate) durable: usize,
    /// Crashes so far: a change may be requested again for the same attempt only across one.
    pub(crate) epoch: u32,
    pub(crate) mutated: HashMap<(String, u32), u32>,
    pub(crate) requests: Vec<Request>,
    pub(crate) journal_failed: bool,
    /// Check that a step never has two attempts in flight (when no change has a timeout).
    pub(crate) one_in_flight: bool,
    /// The journal stopped acknowledging (a hung disk): nothing more becomes durable.
    pub(crate) stalled: bool,
    pub(crate) trace: Vec<String>,
    pub(crate) stats: Stats,
}

impl Sim {
    pub(crate) fn new(seed: u64, runbook: Arc<Runbook>) -> Sim {
        let one_in_flight = changes_have_no_timeouts(&runbook);
        Sim {
            seed,
            rng: Rng::new(seed),
            engine: Engine::new(runbook.clone(), &format!("run-{seed}")),
            runbook,
            now: t0(),
            log: Vec::new(),
            durable: 0,
            epoch: 0,
            mutated: HashMap::new(),
            requests: Vec::new(),
            journal_failed: false,
            one_in_flight,
            stalled: false,
            trace: Vec::new(),
            stats: Stats::default(),
        }
    }

    pub(crate) fn fail(&self, what: &str) -> ! {
        let tail: Vec<&String> = self.trace.iter().rev().take(60).rev().collect();
        let mut journal = String::new();
        for (seq, e) in self.log.iter().enumerate() {
            let mark = if seq < self.durable {
                "acked"
            } else {
                "pending"
            };
            journal.push_str(&format!(
                "  {seq:>3} {mark:<7} {} {} {}\n",
                event_name(e.event.kind()),
                e.step.as_deref().unwrap_or("-"),
                e.event.detail().unwrap()
            ));
        }
        panic!(
            "seed {}: {what}\n--- last inputs and effects ---\n{}\n--- journal ---\n{journal}",
            self.seed,
            tail.iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    pub(crate) fn ensure(&self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.fail(&what());
        }
    }

    pub(crate) fn pending(&self) -> usize {
        self.log.len() - self.durable
    }

    /// Sends one input and checks every effect it produced.
    pub(crate) fn send(&mut self, input: Input) -> Vec<Effect> {
        self.trace
            .push(format!("@{}s {input:?}", (self.now - t0()).num_seconds()));
        let ended = self.ended();
        let fx = self.engine.handle(input, self.now);
        self.check(&fx);
        self.ensure(!ended || fx.is_empty(), || {
            format!("a run that ended still has effects: {fx:?}")
        });
        fx
    }

    pub(crate) fn check(&mut self, fx: &[Effect]) {
        let refusals = fx
            .iter()
            .filter(|e| matches!(e, Effect::Refused(_)))
            .count();
        self.ensure(refusals == 0 || fx.len() == 1, || {
            format!("a refusal comes alone: {fx:?}")
        });
        for e in fx {
            self.trace.push(format!("    -> {}", describe(e)));
            match e {
                Effect::Record(entry) => {
                    self.ensure(!self.journal_failed, || {
                        "a record was written after the journal failed".into()
                    });
                    self.ensure(entry.at == self.now, || "record time is not now".into());
                    self.log.push(entry.clone());
                }
                Effect::Mutate { plan, approval } => {
                    self.stats.mutates += 1;
                    self.check_change(&plan.step, plan.attempt, approval, |intent| {
                        matches!(&intent.event, Event::Intent(i) if i.plan.as_ref() == Some(plan))
                    });
                    self.requests.push(Request::Mutate(plan.clone()));
                }
                Effect::RunCommand {
                    step,
                    attempt,
                    command,
                    approval,
                } => {
                    self.stats.commands += 1;
                    self.check_change(step, *attempt, approval, |intent| {
                        matches!(&intent.event, Event::Intent(i)
                            if i.command.as_deref() == Some(command.as_str()))
                    });
                    self.requests.push(Request::Command {
                        step: step.clone(),
                        attempt: *attempt,
                    });
                }
                Effect::Poll { plan } => self.requests.push(Request::Poll(plan.clone())),
                Effect::Reconcile { plan } => {
                    self.ensure(self.epoch > 0, || "reconcile without a resume".into());
                    self.requests.push(Request::Reconcile(plan.clone()))
                }
                Effect::Observe { resource } => {
                    self.requests.push(Request::Observe(resource.clone()))
                }
                // The sim's operator sends ManualDone at random, as for any manual step.
                Effect::ShowGate { .. }
                | Effect::AwaitOperator { .. }
                | Effect::DoneAtGate { .. }
                | Effect::Refused(_)
                | Effect::Finished(_) => {}
            }
        }
        if !self.journal_failed {
            self.ensure(
                self.engine.awaiting_journal() == (self.pending() > 0),
                || {
                    format!(
                        "the engine waits for the journal: {}, records pending: {}",
                        self.engine.awaiting_journal(),
                        self.pending()
                    )
                },
            );
        }
    }

    /// The property, for one mutating effect.
    pub(crate) fn check_change(
        &mut self,
        step: &str,
        attempt: u32,
        approval: &Approval,
        same_change: impl Fn(&Entry) -> bool,
    ) {
        let what = format!("change {step}#{attempt}");
        self.ensure(!self.journal_failed, || {
            format!("{what} requested after the journal failed")
        });
        let acked = &self.log[..self.durable];
        // (a) A gate-approved record for that step was acknowledged before.
        self.ensure(
            acked.iter().any(|r| {
                r.event.kind() == EventKind::GateApproved && r.step.as_deref() == Some(step)
            }),
            || format!("{what} without an acknowledged gate-approved record for the step"),
        );
        // (b) The intent for that step and attempt was acknowledged before, and it describes
        // exactly this change.
        let intent = acked.iter().rposition(|r| {
            r.event.kind() == EventKind::Intent
                && r.step.as_deref() == Some(step)
                && r.event.attempt() == Some(attempt)
        });
        self.ensure(intent.is_some(), || {
            format!("{what} without an acknowledged intent for that attempt")
        });
        let intent = intent.unwrap();
        self.ensure(same_change(&acked[intent]), || {
            format!(
                "{what} differs from its acknowledged intent {:?}",
                acked[intent].event
            )
        });
        // (c) The approval names the step and rests on an acknowledged gate-approved record.
        self.ensure(approval.step() == step, || {
            format!("{what} carries an approval for `{}`", approval.step())
        });
        let seq = approval.journal_seq() as usize;
        self.ensure(seq < self.durable, || {
            format!("{what}: approval seq {seq} is not an acknowledged record")
        });
        let gate = &self.log[seq];
        self.ensure(
            gate.event.kind() == EventKind::GateApproved && gate.step.as_deref() == Some(step),
            || {
                format!(
                    "{what}: approval seq {seq} is a `{}` record of {:?}",
                    event_name(gate.event.kind()),
                    gate.step
                )
            },
        );
        self.ensure(
            matches!(&gate.event, Event::GateApproved(g) if g.unattended == approval.unattended()),
            || format!("{what}: approval's unattended flag differs from its record"),
        );
        self.ensure(seq < intent, || {
            format!("{what}: intent {intent} precedes its gate approval {seq}")
        });
        // (d) Without timeouts nothing abandons a change: one attempt of a step at a time.
        if self.one_in_flight {
            let other = self.requests.iter().find(|r| match r {
                Request::Mutate(p) | Request::Reconcile(p) => {
                    p.step == step && p.attempt != attempt
                }
                Request::Command {
                    step: s,
                    attempt: a,
                } => s == step && *a != attempt,
                _ => false,
            });
            self.ensure(other.is_none(), || {
                format!("{what} while an earlier attempt is still in flight: {other:?}")
            });
        }
        // At most once per (step, attempt), unless a crash and resume came in between.
        let key = (step.to_string(), attempt);
        if let Some(previous) = self.mutated.insert(key, self.epoch) {
            self.ensure(previous != self.epoch, || {
                format!("{what} requested twice without a resume in between")
            });
        }
    }

    pub(crate) fn ack(&mut self) {
        self.durable += 1;
        self.send(Input::Recorded);
    }

    pub(crate) fn records(&self) -> Vec<Record> {
        self.records_upto(self.log.len())
    }

    pub(crate) fn records_upto(&self, n: usize) -> Vec<Record> {
        self.log[..n]
            .iter()
            .enumerate()
            .map(|(seq, e)| Record {
                seq: seq as u64,
                at: e.at,
                operator: "tester".into(),
                runbook: self.runbook.id.clone(),
                mode: Mode::Drill,
                step: e.step.clone(),
                event: e.event.clone(),
                prev: "prev".into(),
                hash: "hash".into(),
            })
            .collect()
    }

    pub(crate) fn current_step(&self) -> Option<&pilotlight::runbook::Step> {
        self.runbook.steps.get(self.engine.current())
    }

    pub(crate) fn gate_input(&mut self) -> Input {
        let gate = self.current_step().and_then(|s| s.gate.clone());
        let phrase = gate.as_ref().and_then(|g| g.typed.clone());
        let roll = self.rng.below(100);
        let (approve, typed, reason) = match roll {
            0..=54 => (true, phrase.clone(), Some("incident 42")),
            55..=64 => (true, Some("wrong phrase".to_string()), Some("incident 42")),
            65..=74 => (true, phrase.clone(), None),
            75..=79 => (true, phrase.clone(), Some("  ")),
            _ => (false, None, Some("not yet")),
        };
        Input::Gate(GateDecision {
            approve,
            typed,
            reason: reason.map(str::to_string),
            unattended: self.rng.chance(20),
        })
    }

    pub(crate) fn reason(&mut self) -> String {
        match self.rng.below(10) {
            0 => String::new(),
            1 => " \t".into(),
            _ => "operator says so".into(),
        }
    }

    pub(crate) fn outputs_of(&self, plan: &ActionPlan) -> BTreeMap<String, String> {
        self.runbook
            .step(&plan.step)
            .map(|s| s.outputs())
            .unwrap_or_default()
            .iter()
            .map(|name| {
                (
                    name.to_string(),
                    format!("{name}-{}-{}", plan.step, plan.attempt),
                )
            })
            .collect()
    }

    pub(crate) fn cloud_error(&mut self) -> CloudError {
        match self.rng.below(3) {
            0 => CloudError::Timeout(30),
            1 => CloudError::Api {
                code: "InsufficientCapacity".into(),
                message: "try later".into(),
            },
            _ => CloudError::NotFound("snapshot".into()),
        }
    }

    /// Answers one outstanding request, chosen at random.
    pub(crate) fn answer(&mut self) {
        let i = self.rng.below(self.requests.len() as u64) as usize;
        let request = self.requests.swap_remove(i);
        let input = match request {
            Request::Mutate(plan) => Input::Started {
                step: plan.step.clone(),
                attempt: plan.attempt,
                result: if self.rng.chance(75) {
                    Ok(Started {
                        outputs: self.outputs_of(&plan),
                        adopted: false,
                    })
                } else {
                    Err(self.cloud_error())
                },
            },
            Request::Reconcile(plan) => Input::Reconciled {
                step: plan.step.clone(),
                attempt: plan.attempt,
                result: match self.rng.below(10) {
                    0..=3 => Ok(Some(Started {
                        outputs: self.outputs_of(&plan),
                        adopted: true,
                    })),
                    4..=7 => Ok(None),
                    _ => Err(self.cloud_error()),
                },
            },
            Request::Poll(plan) => {
                let target = match self.runbook.step(&plan.step).map(|s| &s.body) {
                    Some(StepBody::Action {
                        wait_until: Some(t),
                        ..
                    }) => t.clone(),
                    _ => "done".into(),
                };
                let result = match self.rng.below(10) {
                    0..=4 => Ok(target),
                    5..=7 => Ok("creating".to_string()),
                    8 => Ok("error".to_string()),
                    _ => Err(self.cloud_error()),
                };
                Input::Progress {
                    step: plan.step.clone(),
                    attempt: plan.attempt,
                    result: result.map(|state| Progress {
                        state,
                        percent: Some(50),
                        expected_done: None,
                        ..Default::default()
                    }),
                }
            }
            Request::Observe(resource) => Input::Observed {
                resource,
                status: Ok(ResourceStatus {
                    health: [Health::Ok, Health::Impaired, Health::Unavailable]
                        [self.rng.below(3) as usize],
                    state: "available".into(),
                    latest_recovery_point: None,
                }),
            },
            Request::Command { step, attempt } => {
                let expect = match self.runbook.step(&step).map(|s| &s.body) {
                    Some(StepBody::Command { expect_exit, .. }) => *expect_exit,
                    _ => 0,
                };
                Input::CommandDone {
                    step,
                    attempt,
                    result: match self.rng.below(20) {
                        0..=13 => Ok((expect, "clean\n".into())),
                        14..=16 => Ok((expect + 1, "dirty\n".into())),
                        _ => Err("cannot spawn sh".into()),
                    },
                }
            }
        };
        self.send(input);
    }

    /// An answer for an attempt (or step) that is not the current one: always ignored.
    pub(crate) fn stale_answer(&mut self) {
        let Some(step) = self.current_step().map(|s| s.id.clone()) else {
            return;
        };
        let current = self.engine.steps()[self.engine.current()].attempt;
        let attempt = if self.rng.chance(50) || current == 0 {
            current + 1 + self.rng.below(3) as u32
        } else {
            self.rng.below(u64::from(current)) as u32
        };
        let (step, attempt) = if self.rng.chance(20) {
            let other =
                &self.runbook.steps[self.rng.below(self.runbook.steps.len() as u64) as usize];
            if other.id == step {
                (step, attempt)
            } else {
                (other.id.clone(), current)
            }
        } else {
            (step, attempt)
        };
        let input = match self.rng.below(4) {
            0 => Input::Started {
                step,
                attempt,
                result: Ok(Started::default()),
            },
            1 => Input::Progress {
                step,
                attempt,
                result: Ok(Progress {
                    state: "available".into(),
                    percent: None,
                    expected_done: None,
                    ..Default::default()
                }),
            },
            2 => Input::CommandDone {
                step,
                attempt,
                result: Ok((0, String::new())),
            },
            _ => Input::Reconciled {
                step,
                attempt,
                result: Ok(None),
            },
        };
        let before = self.engine.state().clone();
        let fx = self.send(input);
        self.ensure(fx.is_empty(), || {
            format!("a stale answer had effects: {fx:?}")
        });
        self.ensure(self.engine.state() == &before, || {
            "a stale answer changed the state".into()
        });
    }

    pub(crate) fn tick(&mut self, opts: Options) {
        if opts.prompt_journal && !self.stalled && !self.journal_failed {
            while self.pending() > 0 {
                self.ack();
            }
        }
        let step = match (self.engine.next_wake(), self.rng.below(10)) {
            (Some(wake), 0..=4) if wake > self.now => wake - self.now,
            (_, 5..=7) => TimeDelta::seconds(self.rng.below(90) as i64),
            _ => TimeDelta::seconds(self.rng.below(40 * 60) as i64),
        };
        self.now += step;
        self.send(Input::Tick);
    }

    pub(crate) fn crash_and_resume(&mut self) {
        // What survives: every acknowledged record, and perhaps some written records whose
        // acknowledgement was lost with the process.
        let extra = if self.pending() > 0 && self.rng.chance(40) {
            self.rng.below(self.pending() as u64 + 1) as usize
        } else {
            0
        };
        let keep = self.durable + extra;
        if keep == 0 {
            return;
        }
        let records = self.records_upto(keep);
        let engine = match Engine::from_records(self.runbook.clone(), &records) {
            Ok(e) => e,
            Err(e) => self.fail(&format!("the journal does not replay: {e}")),
        };
        self.stats.crashes += 1;
        let rerun = self.rng.chance(50);
        self.now += TimeDelta::seconds(self.rng.below(120) as i64);
        self.restart(keep, engine, rerun);
    }

    /// The process restarts from the first `keep` records of the journal, rebuilt as `engine`,
    /// and resumes.
    pub(crate) fn restart(
        &mut self,
        keep: usize,
        engine: Engine,
        rerun_commands: bool,
    ) -> Vec<Effect> {
        self.log.truncate(keep);
        self.durable = keep;
        self.epoch += 1;
        self.requests.clear();
        self.stalled = false;
        self.trace.push(format!(
            "=== crash: the journal keeps {keep} records; resume ==="
        ));
        self.engine = engine;
        self.engine.rerun_interrupted_commands(rerun_commands);
        self.send(Input::Resume)
    }

    /// Crash now, keeping the first `keep` records, and resume.
    pub(crate) fn crash(&mut self, keep: usize) -> Vec<Effect> {
        let engine = Engine::from_records(self.runbook.clone(), &self.records_upto(keep)).unwrap();
        self.restart(keep, engine, false)
    }

    pub(crate) fn ack_all(&mut self) -> Vec<Effect> {
        let mut all = Vec::new();
        while self.pending() > 0 {
            self.durable += 1;
            all.extend(self.send(Input::Recorded));
        }
        all
    }

    /// Sends a cloud answer by hand, as the answer to the matching outstanding request.
    pub(crate) fn answer_by_hand(&mut self, input: Input) -> Vec<Effect> {
        let matches = |r: &Request| match (&input, r) {
            (Input::Started { step, attempt, .. }, Request::Mutate(p))
            | (Input::Reconciled { step, attempt, .. }, Request::Reconcile(p))
            | (Input::Progress { step, attempt, .. }, Request::Poll(p)) => {
                &p.step == step && p.attempt == *attempt
            }
            (
                Input::CommandDone { step, attempt, .. },
                Request::Command {
                    step: s,
                    attempt: a,
                },
            ) => s == step && a == attempt,
            _ => false,
        };
        if let Some(i) = self.requests.iter().position(matches) {
            self.requests.remove(i);
        }
        self.send(input)
    }

    pub(crate) fn replayed(&self) -> State {
        Engine::from_records(self.runbook.clone(), &self.records())
            .unwrap()
            .state()
            .clone()
    }

    pub(crate) fn ended(&self) -> bool {
        matches!(
            self.engine.status(),
            RunStatus::Finished | RunStatus::Aborted(_)
        )
    }

    pub(crate) fn step_once(&mut self, opts: Options) {
        let roll = self.rng.below(1000);
        match roll {
            0..=349 => {
                if self.journal_failed && self.rng.chance(50) {
                    // A confused runtime claims a record made it after all.
                    self.send(Input::Recorded);
                } else if self.pending() > 0 && !self.stalled && !self.journal_failed {
                    self.ack();
                } else {
                    self.tick(opts);
                }
            }
            350..=459 => {
                let input = self.gate_input();
                self.send(input);
            }
            460..=489 => {
                self.send(Input::ManualDone);
            }
            490..=519 => {
                let reason = self.reason();
                self.send(Input::Skip { reason });
            }
            520..=559 => {
                let reason = self.reason();
                self.send(Input::Retry { reason });
            }
            560..=562 => {
                let reason = if self.rng.chance(50) {
                    String::new()
                } else {
                    "stand down".into()
                };
                self.send(Input::Abort { reason });
            }
            563..=829 => {
                if self.requests.is_empty() {
                    self.tick(opts);
                } else {
                    self.answer();
                }
            }
            830..=869 => self.stale_answer(),
            870..=979 | 982 => self.tick(opts),
            980 => {
                if !self.journal_failed {
                    self.stats.journal_failures += 1;
                    self.journal_failed = true;
                    self.send(Input::JournalFailed("disk full".into()));
                    self.ensure(self.ended(), || "a journal failure ends the run".into());
                }
            }
            981 => self.stalled = true,
            _ => {
                if opts.crashes && !self.journal_failed {
                    self.crash_and_resume();
                }
            }
        }
    }

    /// Runs one seeded scenario to the end, then checks replay if the journal is quiescent.
    pub(crate) fn run(&mut self, opts: Options) {
        self.send(Input::Start);
        // Once the run has ended (and the journal has caught up, or never will), the driver goes
        // on for a while: nothing may come of it.
        let mut after_end = 0;
        for i in 0..opts.actions {
            // Every record the engine wrote, durable or not, folds into its state as it is now.
            if i % 25 == 0 && !self.journal_failed {
                self.check_replay();
            }
            if self.ended() && (self.pending() == 0 || self.stalled || self.journal_failed) {
                after_end += 1;
                if after_end > 20 {
                    break;
                }
            }
            self.step_once(opts);
        }
        if self.engine.status() == &RunStatus::Finished {
            self.stats.finished += 1;
        }
        if matches!(self.engine.status(), RunStatus::Aborted(_)) {
            self.stats.aborted += 1;
        }
        if self.journal_failed || self.stalled {
            return;
        }
        // Drain: the journal catches up (acks may release more records and changes).
        while self.pending() > 0 {
            self.ack();
        }
        self.stats.quiescent += 1;
        self.check_replay();
    }

    /// The state the live engine reached is exactly the fold of the journal it wrote.
    pub(crate) fn check_replay(&mut self) {
        let records = self.records();
        let replayed = match Engine::from_records(self.runbook.clone(), &records) {
            Ok(e) => e,
            Err(e) => self.fail(&format!("the journal does not replay: {e}")),
        };
        if self.engine.state() != replayed.state() {
            self.fail(&format!(
                "replaying the journal rebuilds another state\nlive:     {:?}\nreplayed: {:?}",
                self.engine.state(),
                replayed.state()
            ));
        }
        self.stats.replayed += 1;
    }
}
