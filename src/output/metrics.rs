//! Streaming aggregation of MODEL.md §9's metrics.
//!
//! Everything accumulated is an integer (counts, seconds, histogram bins), so merging
//! accumulators is associative and commutative: the result is the same whatever order
//! threads or shards finish in. Floats appear only when a finished accumulator is turned
//! into reported numbers, sequentially, in a fixed order.

use serde::{Deserialize, Serialize};

use std::collections::BTreeMap;

use crate::engine::time::{Duration, SimTime, DAY, HOUR, MINUTE};
use crate::model::{Actor, Artefact, Mechanism, Observer, Outcome, Record, StepKind};
use crate::world::app::{App, Client, DeviceTrust};

/// Per-user prompts per active day, in bins of 0.01 up to 50 (the last bin holds the rest).
pub const RATE_BIN: f64 = 0.01;
pub const RATE_BINS: usize = 5_000;
/// Minutes between consecutive prompts of one session within a workday, up to 24 h.
pub const INTERVAL_BINS: usize = 1_440;
/// Exposure: one-minute bins up to 48 h, then one-hour bins up to 120 days.
pub const EXPOSURE_FINE_BINS: usize = 2_880;
pub const EXPOSURE_BINS: usize = EXPOSURE_FINE_BINS + 120 * 24;

/// Adds `b` to `a`, saturating; false on overflow (a tampered or impossible shard).
fn add(a: &mut u64, b: u64) -> bool {
    match a.checked_add(b) {
        Some(v) => {
            *a = v;
            true
        }
        None => {
            *a = u64::MAX;
            false
        }
    }
}

/// A histogram of integer counts, allocated on first use.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Histogram {
    bins: Vec<u64>,
}

/// Histograms are mostly empty: stored as their size and the non-zero `[bin, count]` pairs.
#[derive(Serialize, Deserialize)]
struct SparseHistogram {
    size: usize,
    bins: Vec<(usize, u64)>,
}

impl Serialize for Histogram {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        SparseHistogram {
            size: self.bins.len(),
            bins: self
                .bins
                .iter()
                .enumerate()
                .filter(|(_, c)| **c > 0)
                .map(|(i, c)| (i, *c))
                .collect(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Histogram {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let sparse = SparseHistogram::deserialize(d)?;
        // The largest histogram a run keeps: a bigger one is not a shard's, and allocating
        // it would let a tampered file ask for any amount of memory.
        if sparse.size > RATE_BINS.max(INTERVAL_BINS) {
            return Err(D::Error::custom(format!(
                "histogram of {} bins is too large",
                sparse.size
            )));
        }
        let mut bins = vec![0; sparse.size];
        for (i, c) in sparse.bins {
            *bins.get_mut(i).ok_or_else(|| {
                D::Error::custom(format!("bin {i} outside a histogram of {}", sparse.size))
            })? += c;
        }
        Ok(Histogram { bins })
    }
}

impl Histogram {
    pub fn add(&mut self, bin: usize, size: usize) {
        if self.bins.is_empty() {
            self.bins = vec![0; size];
        }
        let i = bin.min(self.bins.len() - 1);
        self.bins[i] += 1;
    }

    /// Adds another histogram of the same size; false when a count overflowed or the sizes
    /// differ (a shard's histogram that was resized).
    pub fn merge(&mut self, other: &Histogram) -> bool {
        if other.bins.is_empty() {
            return true;
        }
        if self.bins.is_empty() {
            self.bins = other.bins.clone();
            return true;
        }
        let mut ok = self.bins.len() == other.bins.len();
        for (a, b) in self.bins.iter_mut().zip(&other.bins) {
            ok &= add(a, *b);
        }
        ok
    }

    pub fn count(&self) -> u64 {
        self.bins.iter().sum()
    }

    /// The bin holding quantile `q` (0..=1), by the nearest-rank method.
    pub fn quantile_bin(&self, q: f64) -> Option<usize> {
        let n = self.count();
        if n == 0 {
            return None;
        }
        let rank = ((q * n as f64).ceil() as u64).clamp(1, n);
        let mut seen = 0;
        for (i, c) in self.bins.iter().enumerate() {
            seen += c;
            if seen >= rank {
                return Some(i);
            }
        }
        None
    }

    pub fn bins(&self) -> &[u64] {
        &self.bins
    }
}

/// The exposure histogram bin of a duration.
pub fn exposure_bin(d: Duration) -> usize {
    let m = (d.as_secs() / MINUTE) as usize;
    if m < EXPOSURE_FINE_BINS {
        m
    } else {
        EXPOSURE_FINE_BINS + (d.as_secs() / HOUR) as usize - EXPOSURE_FINE_BINS / 60
    }
}

/// The upper edge of an exposure bin, in hours.
pub fn exposure_bin_hours(bin: usize) -> f64 {
    if bin < EXPOSURE_FINE_BINS {
        (bin + 1) as f64 / 60.0
    } else {
        (bin - EXPOSURE_FINE_BINS + EXPOSURE_FINE_BINS / 60 + 1) as f64
    }
}

/// A histogram of exposures, sparse: few thefts fall in any one cell, so only the bins
/// that occur are kept (bin index → count). Bins as [`exposure_bin`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExposureHistogram {
    pub bins: BTreeMap<u32, u64>,
}

impl ExposureHistogram {
    pub fn add(&mut self, bin: usize) {
        *self
            .bins
            .entry(bin.min(EXPOSURE_BINS - 1) as u32)
            .or_default() += 1;
    }

    pub fn merge(&mut self, other: &ExposureHistogram) -> bool {
        let mut ok = true;
        for (b, c) in &other.bins {
            ok &= add(self.bins.entry(*b).or_default(), *c);
        }
        ok
    }

    pub fn count(&self) -> u64 {
        self.bins.values().sum()
    }
}

/// Accumulated thefts of one mechanism in one group (MODEL.md §8, §9). Counts are of
/// simulated attempts and thefts; [`crate::output`] weights them back to real rates.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TheftAcc {
    /// Simulated attempts (lures, infections, push attacks, compromises, injected thefts).
    pub attempts: u64,
    /// Attempts that gave the attacker an artefact it can present elsewhere.
    pub thefts: u64,
    /// Thefts that gave the attacker working access at least once.
    pub with_access: u64,
    pub exposure_seconds: u64,
    /// Exposures that ended before the attacker's window did.
    pub ended: ExposureHistogram,
    /// Exposures still running at the end of the attacker's window (censored).
    pub censored: ExposureHistogram,
    pub contained_1h: u64,
    pub contained_24h: u64,
    pub cae_seconds: u64,
    pub noncae_seconds: u64,
    /// Thefts holding each artefact kind, and that artefact's exposure.
    pub by_artefact: [u64; 3],
    pub by_artefact_seconds: [u64; 3],
}

impl TheftAcc {
    /// Adds another accumulator; false when a count overflowed (it saturates).
    pub fn merge(&mut self, o: &TheftAcc) -> bool {
        let mut ok = true;
        ok &= add(&mut self.attempts, o.attempts);
        ok &= add(&mut self.thefts, o.thefts);
        ok &= add(&mut self.with_access, o.with_access);
        ok &= add(&mut self.exposure_seconds, o.exposure_seconds);
        ok &= self.ended.merge(&o.ended);
        ok &= self.censored.merge(&o.censored);
        ok &= add(&mut self.contained_1h, o.contained_1h);
        ok &= add(&mut self.contained_24h, o.contained_24h);
        ok &= add(&mut self.cae_seconds, o.cae_seconds);
        ok &= add(&mut self.noncae_seconds, o.noncae_seconds);
        for i in 0..3 {
            ok &= add(&mut self.by_artefact[i], o.by_artefact[i]);
            ok &= add(&mut self.by_artefact_seconds[i], o.by_artefact_seconds[i]);
        }
        ok
    }

    /// Adds one finished theft.
    pub fn add(&mut self, e: &Exposure) {
        self.thefts += 1;
        if e.had_access {
            self.with_access += 1;
        }
        let secs = e.total.as_secs();
        self.exposure_seconds += secs;
        let bin = exposure_bin(e.total);
        if e.censored {
            self.censored.add(bin);
        } else {
            self.ended.add(bin);
        }
        if secs <= HOUR {
            self.contained_1h += 1;
        }
        if secs <= DAY {
            self.contained_24h += 1;
        }
        self.cae_seconds += e.cae.as_secs();
        self.noncae_seconds += e.noncae.as_secs();
        for (i, d) in e.by_artefact.iter().enumerate() {
            if let Some(d) = d {
                self.by_artefact[i] += 1;
                self.by_artefact_seconds[i] += d.as_secs();
            }
        }
    }
}

/// Accumulated metrics of one group of users (a design × replicate × device × persona cell).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    pub users: u64,
    /// Workdays of the users.
    pub active_days: u64,
    /// Calendar days of the users (the simulated horizon each).
    pub window_days: u64,
    pub prompts: u64,
    pub mfa_prompts: u64,
    pub unintended_prompts: u64,
    /// Seconds spent on prompts (`prompt_cost` + `mfa_cost`).
    pub prompt_seconds: u64,
    /// Entra evaluations (interactive and not), the sign-in log's rows.
    pub evaluations: u64,
    pub deferred: u64,
    /// The users' own accesses that were refused (blocked by a policy, a grant the user
    /// cannot satisfy, a disabled account or device, ...).
    pub denied: u64,
    /// Every app access of the users' own timelines, whether Entra evaluated it or a
    /// cached access token answered it; device sign-ins and unlocks are not accesses. The
    /// denominator of `denied_access_share`.
    pub accesses: u64,
    /// Per-user prompts per active day (users with at least one active day).
    pub user_rate: Histogram,
    /// Minutes between consecutive prompts of one session within a workday.
    pub prompt_intervals: Histogram,
    /// Thefts by mechanism ([`Mechanism::index`] order).
    pub thefts: [TheftAcc; Mechanism::COUNT],
    pub events: u64,
}

impl Group {
    /// Adds another group; false when a count overflowed (it saturates).
    pub fn merge(&mut self, o: &Group) -> bool {
        let mut ok = true;
        ok &= add(&mut self.users, o.users);
        ok &= add(&mut self.active_days, o.active_days);
        ok &= add(&mut self.window_days, o.window_days);
        ok &= add(&mut self.prompts, o.prompts);
        ok &= add(&mut self.mfa_prompts, o.mfa_prompts);
        ok &= add(&mut self.unintended_prompts, o.unintended_prompts);
        ok &= add(&mut self.prompt_seconds, o.prompt_seconds);
        ok &= add(&mut self.evaluations, o.evaluations);
        ok &= add(&mut self.deferred, o.deferred);
        ok &= add(&mut self.denied, o.denied);
        ok &= add(&mut self.accesses, o.accesses);
        ok &= self.user_rate.merge(&o.user_rate);
        ok &= self.prompt_intervals.merge(&o.prompt_intervals);
        for (a, b) in self.thefts.iter_mut().zip(&o.thefts) {
            ok &= a.merge(b);
        }
        ok &= add(&mut self.events, o.events);
        ok
    }
}

/// The groups of one design × replicate, indexed by `device × personas + persona`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cell {
    pub groups: Vec<Group>,
}

impl Cell {
    pub fn new(personas: usize) -> Self {
        Cell {
            groups: vec![Group::default(); DeviceTrust::ALL.len() * personas],
        }
    }

    pub fn group_mut(
        &mut self,
        device: DeviceTrust,
        persona: usize,
        personas: usize,
    ) -> &mut Group {
        &mut self.groups[device.index() * personas + persona]
    }

    /// Adds another cell of the same shape (a run's counts cannot overflow: its sizes are
    /// bounded; `merge` of shards checks with [`Cell::try_merge`]).
    pub fn merge(mut self, other: Cell) -> Cell {
        if self.groups.is_empty() {
            return other;
        }
        for (a, b) in self.groups.iter_mut().zip(&other.groups) {
            a.merge(b);
        }
        self
    }

    /// Adds another cell; false when the shapes differ or a count overflowed.
    pub fn try_merge(&mut self, other: &Cell) -> bool {
        if self.groups.is_empty() {
            *self = other.clone();
            return true;
        }
        let mut ok = self.groups.len() == other.groups.len();
        for (a, b) in self.groups.iter_mut().zip(&other.groups) {
            ok &= a.merge(b);
        }
        ok
    }

    pub fn total(&self) -> Group {
        let mut t = Group::default();
        for g in &self.groups {
            t.merge(g);
        }
        t
    }
}

/// Per-user observer of the user's own timeline: prompts, evaluations, intervals.
pub struct UserStats {
    pub prompt_cost: Duration,
    pub mfa_cost: Duration,
    pub prompts: u64,
    pub mfa_prompts: u64,
    pub unintended: u64,
    pub prompt_seconds: u64,
    pub evaluations: u64,
    pub deferred: u64,
    pub denied: u64,
    /// Every user request for an app: Entra evaluations and accesses answered by a
    /// cached token (device sign-ins and unlocks are not accesses).
    pub accesses: u64,
    /// Last prompt per session key, for inter-prompt intervals.
    last_prompt: [Option<SimTime>; 2 + App::COUNT],
    pub intervals: Vec<u64>,
    per_app_native: bool,
    /// Evaluations before this time belong to the warm-up and are not counted.
    counted_from: SimTime,
}

impl UserStats {
    /// Prompt costs come from the model's parameters (`prompt_cost`, `mfa_cost`); what
    /// happens before `counted_from` (the warm-up) is not counted.
    pub fn new(
        params: &crate::model::ModelParams,
        device: DeviceTrust,
        counted_from: SimTime,
    ) -> Self {
        UserStats {
            counted_from,
            prompt_cost: params.prompt_cost,
            mfa_cost: params.mfa_cost,
            prompts: 0,
            mfa_prompts: 0,
            unintended: 0,
            prompt_seconds: 0,
            evaluations: 0,
            deferred: 0,
            denied: 0,
            accesses: 0,
            last_prompt: [None; 2 + App::COUNT],
            intervals: Vec::new(),
            per_app_native: !device.has_broker(),
        }
    }

    fn session_key(&self, r: &Record) -> usize {
        match (r.client, r.app) {
            (Client::Browser, _) => 0,
            (Client::Native, Some(app)) if self.per_app_native => 2 + app.index(),
            _ => 1,
        }
    }
}

impl Observer for UserStats {
    // Called for most events; inlined by force (docs/performance.md, "tenth session").
    #[inline(always)]
    fn record(&mut self, r: &Record) {
        // The warm-up is simulated, not counted (docs/model.md, "Steady state").
        if r.actor != Actor::User || r.at < self.counted_from {
            return;
        }
        if r.entra {
            self.evaluations += 1;
        }
        // An access is a request for an app. Device sign-ins and unlocks (which renew the
        // PRT) are not: no policy blocks them, so counting them would dilute the denied
        // share of a design that blocks every app.
        let app_access = r.app.is_some();
        if app_access {
            self.accesses += 1;
        }
        match r.outcome {
            Outcome::Prompt => {
                self.prompts += 1;
                self.prompt_seconds += self.prompt_cost.as_secs();
                if r.mfa {
                    self.mfa_prompts += 1;
                    self.prompt_seconds += self.mfa_cost.as_secs();
                }
                if r.unintended {
                    self.unintended += 1;
                }
                let k = self.session_key(r);
                if let Some(prev) = self.last_prompt[k] {
                    if prev.day() == r.at.day() {
                        self.intervals.push((r.at - prev).as_secs() / MINUTE);
                    }
                }
                self.last_prompt[k] = Some(r.at);
            }
            Outcome::Deferred => self.deferred += 1,
            Outcome::Denied if app_access => self.denied += 1,
            Outcome::Denied => {}
            Outcome::Silent => {}
        }
    }
}

/// Observer of the copy of a timeline that follows one theft: when each stolen artefact
/// first gave access to each app, and when that access first ended. A refused replay ends
/// the attacker's use of that artefact for that app (docs/model.md, "Exposure").
pub struct AttackWatch {
    /// `[stolen artefact][app]`: first granted access and first refusal.
    start: Vec<[Option<SimTime>; App::COUNT]>,
    end: Vec<[Option<SimTime>; App::COUNT]>,
    kinds: Vec<Artefact>,
    /// Apps the attacker replays against.
    apps: Vec<App>,
}

impl AttackWatch {
    pub fn new(kinds: &[Artefact], apps: &[App]) -> Self {
        AttackWatch {
            start: vec![[None; App::COUNT]; kinds.len()],
            end: vec![[None; App::COUNT]; kinds.len()],
            kinds: kinds.to_vec(),
            apps: apps.to_vec(),
        }
    }

    /// Whether every artefact's access to every app it serves has ended: nothing more can
    /// happen to the exposure.
    pub fn all_ended(&self) -> bool {
        self.kinds.iter().enumerate().all(|(i, k)| {
            self.apps
                .iter()
                .filter(|a| k.serves(**a))
                .all(|a| self.end[i][a.index()].is_some())
        })
    }

    /// The theft's exposure: from the first granted access to the last app losing access
    /// (or the end of the attacker's window), per app class and artefact.
    pub fn exposure(&self, window_end: SimTime) -> Exposure {
        let mut e = Exposure::default();
        let mut first: Option<SimTime> = None;
        let mut last = SimTime::ZERO;
        for (i, kind) in self.kinds.iter().enumerate() {
            let k = Artefact::ALL.iter().position(|x| x == kind).unwrap_or(0);
            let mut longest = Duration::ZERO;
            for app in &self.apps {
                let Some(start) = self.start[i][app.index()] else {
                    continue;
                };
                e.had_access = true;
                let end = match self.end[i][app.index()] {
                    Some(t) => t,
                    None => {
                        e.censored = true;
                        window_end
                    }
                };
                let d = end.saturating_since(start);
                if app.cae_capable() {
                    e.cae = e.cae.max(d);
                } else {
                    e.noncae = e.noncae.max(d);
                }
                longest = longest.max(d);
                first = Some(first.map_or(start, |f: SimTime| f.min(start)));
                last = last.max(end);
            }
            e.by_artefact[k] = Some(e.by_artefact[k].unwrap_or(Duration::ZERO).max(longest));
        }
        if let Some(f) = first {
            e.total = last.saturating_since(f);
        }
        e
    }
}

impl Observer for AttackWatch {
    fn record(&mut self, r: &Record) {
        if r.actor != Actor::Attacker || !matches!(r.step, StepKind::AttackerUse | StepKind::Holds)
        {
            return;
        }
        let Some(app) = r.app else {
            return;
        };
        let i = r.stolen as usize;
        if i >= self.kinds.len() || self.end[i][app.index()].is_some() {
            return;
        }
        let a = app.index();
        match r.outcome {
            // Exposure counts use, not possession (MODEL.md §8): a held copy that still
            // works starts nothing until the attacker first replays it.
            Outcome::Silent if r.step == StepKind::AttackerUse && self.start[i][a].is_none() => {
                self.start[i][a] = Some(r.at)
            }
            // A pair that never worked ends with zero exposure (no start), also when it
            // dies while held, before its first use.
            Outcome::Denied => self.end[i][a] = Some(r.at),
            _ => {}
        }
    }
}

/// A finished theft's exposure.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Exposure {
    pub total: Duration,
    pub cae: Duration,
    pub noncae: Duration,
    /// Access lasted to the end of the attacker's window.
    pub censored: bool,
    /// The attacker got working access at least once.
    pub had_access: bool,
    /// Each artefact kind held, with its longest access.
    pub by_artefact: [Option<Duration>; 3],
}

/// Adds one finished user's own timeline to a group.
pub fn add_user(g: &mut Group, stats: &UserStats, active_days: u64, window_days: u64, events: u64) {
    g.users += 1;
    g.active_days += active_days;
    g.window_days += window_days;
    g.prompts += stats.prompts;
    g.mfa_prompts += stats.mfa_prompts;
    g.unintended_prompts += stats.unintended;
    g.prompt_seconds += stats.prompt_seconds;
    g.evaluations += stats.evaluations;
    g.deferred += stats.deferred;
    g.denied += stats.denied;
    g.accesses += stats.accesses;
    g.events += events;
    if active_days > 0 {
        let rate = stats.prompts as f64 / active_days as f64;
        g.user_rate
            .add((rate / RATE_BIN).floor() as usize, RATE_BINS);
    }
    for m in &stats.intervals {
        g.prompt_intervals.add(*m as usize, INTERVAL_BINS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_nearest_rank() {
        let mut h = Histogram::default();
        for b in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] {
            h.add(b, 20);
        }
        assert_eq!(h.quantile_bin(0.5), Some(5));
        assert_eq!(h.quantile_bin(0.95), Some(10));
        assert_eq!(h.quantile_bin(0.0), Some(1));
        assert_eq!(Histogram::default().quantile_bin(0.5), None);
    }

    #[test]
    fn exposure_bins_are_minutes_then_hours() {
        assert_eq!(exposure_bin(Duration::from_mins(59)), 59);
        assert_eq!(exposure_bin(Duration::from_hours(47)), 47 * 60);
        assert_eq!(exposure_bin(Duration::from_hours(48)), EXPOSURE_FINE_BINS);
        assert_eq!(
            exposure_bin(Duration::from_hours(50)),
            EXPOSURE_FINE_BINS + 2
        );
        assert!((exposure_bin_hours(59) - 1.0).abs() < 1e-9);
        assert!((exposure_bin_hours(EXPOSURE_FINE_BINS) - 49.0).abs() < 1e-9);
    }

    #[test]
    fn merging_is_order_independent() {
        let mut a = Group {
            prompts: 3,
            ..Group::default()
        };
        a.user_rate.add(7, RATE_BINS);
        let mut b = Group {
            prompts: 5,
            users: 2,
            ..Group::default()
        };
        b.user_rate.add(9, RATE_BINS);
        let mut ab = a.clone();
        ab.merge(&b);
        let mut ba = b.clone();
        ba.merge(&a);
        assert_eq!(ab, ba);
        assert_eq!(ab.user_rate.count(), 2);
    }
}
