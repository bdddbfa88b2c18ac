//! Fitting a population to a tenant's sign-in logs (`calibrate`).
//!
//! [`LogSummary`] folds sign-ins into small per-user, per-day aggregates as they stream by
//! (first and last sign-in of the day, which 15-minute slots each app was active in,
//! prompts), so memory grows with users × days, never with rows. [`Moments`] are the
//! statistics of a set of users that the population model can reproduce; the same code
//! computes them on the tenant's log and on a simulated one, which is how `calibrate`
//! adjusts what the log shows only indirectly (`calibrate::pipeline`).
//!
//! What a sign-in log cannot show (lunch, breaks, meetings, browser restarts, answers to
//! "Stay signed in?") comes from a template population and is marked so in the output.
//! Every threshold used here is a field of [`FitOptions`], with its default and its reason
//! in docs/model.md ("Calibration").

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use crate::calibrate::directory::Membership;
use crate::calibrate::log_reader::{SignIn, Target};
use crate::engine::calendar::weekday;
use crate::error::plural;
use crate::model::{Credential, MfaMethod};
use crate::world::app::{App, Client, DeviceTrust};
use crate::world::population::ClientChoice;

const APPS: usize = App::COUNT;
/// Prompt slots: the apps, then device sign-ins, then apps the simulator does not model.
const DEVICE_SLOT: usize = APPS;
const OTHER_SLOT: usize = APPS + 1;
const SLOTS: usize = APPS + 2;
/// Activity is kept in 15-minute slots: 96 a day, one `u128` per app.
pub const SLOT_SECONDS: i64 = 15 * 60;
const DAY_SECONDS: i64 = 86_400;

/// The thresholds of the fit. Defaults and reasons: docs/model.md, "Calibration".
#[derive(Clone, Debug)]
pub struct FitOptions {
    /// Added to UTC to get the tenant's local time (work patterns are local).
    pub utc_offset_seconds: i64,
    /// Personas smaller than this share of users are merged into the nearest one.
    pub min_persona_share: f64,
    pub max_personas: usize,
    /// An app enters a persona when at least this share of its users use it.
    pub app_user_share: f64,
    /// Behaviour clustering: an app is part of a user's behaviour when it is used on at
    /// least this share of the user's working days.
    pub cluster_app_days: f64,
    /// An app runs in the browser (or natively) for a persona when at least this share of
    /// its users use it so; otherwise it is `either`.
    pub client_purity: f64,
    /// A day of an app looks like background sync when its sign-ins cover at least half the
    /// working day with no gap longer than this (token refreshes come every 60–90 min).
    pub background_max_gap_seconds: i64,
    /// A user active around midnight has their working days counted from a morning slot
    /// of the longest part of the day they are never active in, when it lasts at least
    /// this long (a night shift); otherwise from midnight.
    pub night_min_quiet_seconds: i64,
    /// An app is background sync when at least this share of its user-days look so
    /// (sign-ins all day, `background_max_gap_seconds`)...
    pub background_day_share: f64,
    /// ... or when, on at least this share of the days it shares with other apps, its
    /// first sign-in comes in the first quarter hour of the day's first sign-in: an app
    /// whose long-lived (CAE) tokens are renewed once a day, as the device wakes, shows
    /// a single sign-in a day, never a day-long trail.
    pub background_leading_share: f64,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            utc_offset_seconds: 0,
            min_persona_share: 0.02,
            max_personas: 8,
            app_user_share: 0.10,
            cluster_app_days: 0.25,
            client_purity: 0.90,
            background_max_gap_seconds: 2 * 3600,
            night_min_quiet_seconds: 4 * 3600,
            background_day_share: 0.5,
            background_leading_share: 0.75,
        }
    }
}

#[derive(Clone, Debug, Default)]
struct DayAgg {
    /// Local days since 1970-01-01.
    day: i32,
    /// Seconds of the local day of the first and last sign-in.
    first: u32,
    last: u32,
    /// Prompts as `prompt slot * 96 + 15-minute slot of the day`, each counted once: a
    /// real log writes an interrupt row and a success row for one prompt, a simulated log
    /// one row. A boxed slice (most days have none or a few) keeps a day at 128 bytes.
    prompts: Box<[u16]>,
    slots: [u128; APPS],
}

/// 15-minute slots in a day.
const QUARTERS: usize = 96;

impl DayAgg {
    fn prompts_in(&self, slot: usize) -> u64 {
        self.prompts
            .iter()
            .filter(|p| **p as usize / QUARTERS == slot)
            .count() as u64
    }

    fn modelled_prompts(&self) -> u64 {
        self.prompts
            .iter()
            .filter(|p| (**p as usize / QUARTERS) < OTHER_SLOT)
            .count() as u64
    }
}

/// A user's days, in day order. Most users of a log of a few weeks have a few dozen
/// days: a vector, grown a little at a time. A user with more (a log of years, or rows in
/// a hostile order) moves to a tree, so that adding a day never costs more than a
/// logarithm.
#[derive(Clone, Debug)]
enum Days {
    Few(Vec<DayAgg>),
    Many(BTreeMap<i32, DayAgg>),
}

impl Default for Days {
    fn default() -> Self {
        Days::Few(Vec::new())
    }
}

/// Days a user keeps in a vector before moving to a tree.
const FEW_DAYS: usize = 64;

impl Days {
    fn len(&self) -> usize {
        match self {
            Days::Few(v) => v.len(),
            Days::Many(m) => m.len(),
        }
    }

    fn iter(&self) -> Box<dyn Iterator<Item = &DayAgg> + '_> {
        match self {
            Days::Few(v) => Box::new(v.iter()),
            Days::Many(m) => Box::new(m.values()),
        }
    }

    /// The day's aggregate, created with `second` as its first and last sign-in.
    fn entry(&mut self, day: i32, second: u32) -> &mut DayAgg {
        let fresh = || DayAgg {
            day,
            first: second,
            last: second,
            ..DayAgg::default()
        };
        if let Days::Few(v) = self {
            if v.len() >= FEW_DAYS && v.binary_search_by_key(&day, |d| d.day).is_err() {
                let map = std::mem::take(v).into_iter().map(|d| (d.day, d)).collect();
                *self = Days::Many(map);
            }
        }
        match self {
            Days::Few(v) => {
                // Rows come in time order (or, from Graph, newest first): the last day, or
                // a new one after it, is the usual case.
                let found = match v.last() {
                    Some(l) if l.day == day => Ok(v.len() - 1),
                    Some(l) if l.day < day => Err(v.len()),
                    None => Err(0),
                    Some(_) => v.binary_search_by_key(&day, |d| d.day),
                };
                match found {
                    Ok(i) => &mut v[i],
                    Err(at) => {
                        if v.len() == v.capacity() {
                            // Grow by half, not double: most users stop at a few dozen days.
                            v.reserve_exact((v.len() / 2).max(1));
                        }
                        v.insert(at, fresh());
                        &mut v[at]
                    }
                }
            }
            Days::Many(m) => m.entry(day).or_insert_with(fresh),
        }
    }
}

/// A user's day boundary: the 15-minute slot of the day their working day is counted
/// from. Midnight, unless the user was ever active around midnight, as a night shift is;
/// then a morning slot of the longest stretch of the day in which they never were, so that
/// a shift from 19:00 to 00:30 is one working day, not a day and a half-hour one after
/// it (issue 33: night-shift nurses were fitted as starting at 23:59 with twelve browser
/// restarts a day). A day worker's late sign-in moves the boundary into their night,
/// where it splits nothing. Without a quiet stretch of at least `min_quiet_slots` (a
/// device that refreshes around the clock) the boundary stays at midnight.
fn day_boundary(days: &Days, min_quiet_slots: usize) -> usize {
    let mut counts = [0u32; QUARTERS];
    for d in days.iter() {
        let mut active = d.slots.iter().fold(0u128, |a, s| a | s);
        // Device sign-ins and apps the simulator does not model have no slot bits: their
        // first and last sign-ins mark the day's ends.
        active |= 1u128 << (d.first as i64 / SLOT_SECONDS).min(QUARTERS as i64 - 1);
        active |= 1u128 << (d.last as i64 / SLOT_SECONDS).min(QUARTERS as i64 - 1);
        for (q, c) in counts.iter_mut().enumerate() {
            *c += (active >> q & 1) as u32;
        }
    }
    let quiet = |q: usize| counts[q % QUARTERS] == 0;
    if quiet(0) && quiet(QUARTERS - 1) {
        return 0;
    }
    // The longest circular run of quiet slots that reaches into the morning, and the
    // morning slot of it nearest its middle. A working day starts in the morning, so that
    // it keeps the calendar day (and weekday) its work starts on: a shift from Friday
    // 22:00 to Saturday 06:00 is Friday's.
    let mut best: Option<(usize, usize)> = None;
    let mut run_start = None;
    for q in 0..2 * QUARTERS {
        match (quiet(q), run_start) {
            (true, None) => run_start = Some(q),
            (false, Some(start)) => {
                let len = q - start;
                let middle = start + len / 2;
                let boundary = (start..q)
                    .filter(|x| x % QUARTERS < QUARTERS / 2)
                    .min_by_key(|x| x.abs_diff(middle));
                if let Some(b) = boundary {
                    if start < QUARTERS
                        && len >= min_quiet_slots
                        && best.is_none_or(|(_, l)| len > l)
                    {
                        best = Some((b % QUARTERS, len));
                    }
                }
                run_start = None;
            }
            _ => {}
        }
    }
    best.map_or(0, |(b, _)| b)
}

impl Days {
    /// The same sign-ins in working days that start at slot `boundary` of the calendar
    /// day (see [`day_boundary`]). A working day keeps the number of the calendar day it
    /// starts on; its times run on from that day's midnight (a sign-in at 01:00 the next
    /// morning is at 25:00), and its slots and prompts count from the boundary. First and
    /// last sign-ins stay exact where the calendar day's are the working day's, and come
    /// from the slots where a calendar day is split.
    fn realigned(&self, boundary: usize) -> Days {
        let day_len = DAY_SECONDS as u32;
        let mut out: BTreeMap<i32, DayAgg> = BTreeMap::new();
        for d in self.iter() {
            let slot_of = |second: u32| (second as i64 / SLOT_SECONDS) as usize;
            // The part before the boundary belongs to the previous working day.
            for (late, day) in [(false, d.day - 1), (true, d.day)] {
                let in_part = |q: usize| (q >= boundary) == late;
                let mut slots = [0u128; APPS];
                for (a, bits) in d.slots.iter().enumerate() {
                    for q in (0..QUARTERS).filter(|q| bits >> q & 1 == 1 && in_part(*q)) {
                        slots[a] |= 1u128 << ((q + QUARTERS - boundary) % QUARTERS);
                    }
                }
                let prompts: Vec<u16> = d
                    .prompts
                    .iter()
                    .filter(|k| in_part(**k as usize % QUARTERS))
                    .map(|k| {
                        let (slot, q) = (*k as usize / QUARTERS, *k as usize % QUARTERS);
                        (slot * QUARTERS + (q + QUARTERS - boundary) % QUARTERS) as u16
                    })
                    .collect();
                let active = slots.iter().fold(0u128, |a, s| a | s);
                let has_first = in_part(slot_of(d.first));
                let has_last = in_part(slot_of(d.last));
                if active == 0 && prompts.is_empty() && !has_first && !has_last {
                    continue;
                }
                // Seconds from the working day's calendar midnight.
                let shift = if late { 0 } else { day_len };
                let at_slot = |pos: u32| {
                    (boundary as u32 + pos) * SLOT_SECONDS as u32 + SLOT_SECONDS as u32 / 2
                };
                let first = if has_first {
                    d.first + shift
                } else if active != 0 {
                    at_slot(active.trailing_zeros())
                } else {
                    d.last + shift
                };
                let last = if has_last {
                    d.last + shift
                } else if active != 0 {
                    at_slot(127 - active.leading_zeros())
                } else {
                    d.first + shift
                };
                // A slot's middle may fall on either side of an exact time in that slot.
                let (first, last) = (first.min(last), last.max(first));
                let w = out.entry(day).or_insert_with(|| DayAgg {
                    day,
                    first: u32::MAX,
                    last: 0,
                    ..DayAgg::default()
                });
                w.first = w.first.min(first);
                w.last = w.last.max(last);
                for (a, bits) in slots.iter().enumerate() {
                    w.slots[a] |= bits;
                }
                if !prompts.is_empty() {
                    let mut v = std::mem::take(&mut w.prompts).into_vec();
                    for k in prompts {
                        if !v.contains(&k) {
                            v.push(k);
                        }
                    }
                    w.prompts = v.into_boxed_slice();
                }
            }
        }
        if out.len() > FEW_DAYS {
            Days::Many(out)
        } else {
            Days::Few(out.into_values().collect())
        }
    }
}

#[derive(Clone, Debug, Default)]
struct UserAgg {
    group: Option<u32>,
    /// Rows by device trust; the last entry counts rows without device columns.
    devices: [u32; 5],
    compliant: [u32; 2],
    /// Rows per app and client (browser, native).
    clients: [[u32; 2]; APPS],
    credentials: [u32; 3],
    mfa: [u32; 3],
    locations: [u32; 2],
    /// The files the user's rows came from, one bit each (files past the 63rd share the
    /// last bit): a user is measured against the days those files cover.
    files: u64,
    days: Days,
    /// The slot the user's working days start at ([`LogSummary::align_days`]).
    boundary: u8,
}

/// Sign-ins folded into per-user, per-day aggregates.
#[derive(Debug, Default)]
pub struct LogSummary {
    /// Each user's place in `aggs`: a table of small entries rather than of aggregates,
    /// so that its spare room costs little (memory per user: docs/model.md, "Calibration").
    index: HashMap<u64, u32>,
    aggs: Vec<UserAgg>,
    groups: Vec<String>,
    group_ids: HashMap<String, u32>,
    offset: i64,
    first_day: Option<i32>,
    last_day: Option<i32>,
    /// Each file's first and last day, in the order read ([`LogSummary::begin_file`]).
    files: Vec<Option<(i32, i32)>>,
    /// A window set for every user ([`LogSummary::set_window`]).
    fixed_window: bool,
    pub rows: u64,
    /// Rows that carried each kind of fact.
    pub rows_with_device: u64,
    pub rows_with_compliance: u64,
    pub rows_with_credential: u64,
    pub rows_with_mfa: u64,
    pub rows_with_location: u64,
    pub rows_other_apps: u64,
}

/// Groups beyond this many share one name: a `--group-by` column with a value per user
/// is not a persona key.
const MAX_GROUPS: usize = 10_000;

impl LogSummary {
    pub fn new(utc_offset_seconds: i64) -> Self {
        LogSummary {
            offset: utc_offset_seconds,
            ..LogSummary::default()
        }
    }

    /// Sets the observation window of every user (local days since 1970): a simulated
    /// log covers its whole run even when its last days have no sign-in.
    pub fn set_window(&mut self, first_day: i32, last_day: i32) {
        self.first_day = Some(first_day);
        self.last_day = Some(last_day);
        self.fixed_window = true;
    }

    /// Starts the rows of another file. Files may cover different periods (an export of
    /// January, another of June): each user is measured against the days of the files its
    /// rows are in, never against the span of all of them (issue 33: two periods made
    /// every user look absent most days, and the fit a population that never signs in).
    pub fn begin_file(&mut self) {
        self.files.push(None);
    }

    /// The periods the files cover: their windows, overlapping or adjacent ones merged,
    /// in day order.
    pub fn periods(&self) -> Vec<(i32, i32)> {
        if self.fixed_window || self.files.is_empty() {
            return self.first_day.zip(self.last_day).into_iter().collect();
        }
        merge_windows(self.files.iter().flatten().copied())
    }

    pub fn users(&self) -> usize {
        self.aggs.len()
    }

    fn user(&self, key: u64) -> &UserAgg {
        &self.aggs[self.index[&key] as usize]
    }

    /// The first and last day of the observation window, as dates (`YYYY-MM-DD`).
    pub fn window(&self) -> (String, String) {
        let date = |d: Option<i32>| {
            d.map_or("-".to_string(), |d| {
                let (y, m, dd) = crate::engine::calendar::civil_from_days(d as i64);
                format!("{y:04}-{m:02}-{dd:02}")
            })
        };
        (date(self.first_day), date(self.last_day))
    }

    /// Days the files cover (the days between periods that no file covers not counted).
    pub fn window_days(&self) -> u32 {
        self.periods()
            .iter()
            .map(|(a, b)| (*b as i64 - *a as i64 + 1) as u32)
            .sum()
    }

    pub fn add(&mut self, s: &SignIn) {
        self.rows += 1;
        let local = s.at + self.offset;
        let day = local.div_euclid(DAY_SECONDS) as i32;
        let second = local.rem_euclid(DAY_SECONDS) as u32;
        self.first_day = Some(self.first_day.map_or(day, |d| d.min(day)));
        self.last_day = Some(self.last_day.map_or(day, |d| d.max(day)));
        if self.files.is_empty() {
            self.files.push(None);
        }
        let file = self.files.len() - 1;
        let w = &mut self.files[file];
        *w = Some(w.map_or((day, day), |(a, b)| (a.min(day), b.max(day))));
        let group = s.group.as_ref().map(|g| {
            let next = self.group_ids.len() as u32;
            if let Some(&id) = self.group_ids.get(g) {
                return id;
            }
            if self.groups.len() >= MAX_GROUPS {
                return u32::MAX;
            }
            self.group_ids.insert(g.clone(), next);
            self.groups.push(crate::error::clip(g, 64).into_owned());
            next
        });
        let next = self.aggs.len() as u32;
        let i = *self.index.entry(s.user).or_insert(next);
        if i == next {
            self.aggs.push(UserAgg::default());
        }
        let u = &mut self.aggs[i as usize];
        u.files |= 1u64 << file.min(63);
        if u.group.is_none() {
            u.group = group;
        }
        match s.device {
            Some(d) => {
                u.devices[d.index()] += 1;
                self.rows_with_device += 1;
            }
            None => u.devices[4] += 1,
        }
        if let Some(c) = s.compliant {
            u.compliant[c as usize] += 1;
            self.rows_with_compliance += 1;
        }
        if let Some(c) = s.credential {
            u.credentials[credential_index(c)] += 1;
            self.rows_with_credential += 1;
        }
        if let Some(m) = s.mfa {
            u.mfa[mfa_index(m)] += 1;
            self.rows_with_mfa += 1;
        }
        if let Some(t) = s.trusted_location {
            u.locations[t as usize] += 1;
            self.rows_with_location += 1;
        }
        let d = u.days.entry(day, second);
        d.first = d.first.min(second);
        d.last = d.last.max(second);
        let slot = match s.target {
            Target::App(app) => {
                d.slots[app.index()] |= 1u128 << (second as i64 / SLOT_SECONDS);
                if let Some(c) = s.client {
                    u.clients[app.index()][(c == Client::Native) as usize] += 1;
                }
                app.index()
            }
            Target::DeviceSignIn => DEVICE_SLOT,
            Target::Other => {
                self.rows_other_apps += 1;
                OTHER_SLOT
            }
        };
        if s.prompt {
            let key = (slot * QUARTERS + (second as i64 / SLOT_SECONDS) as usize) as u16;
            if !d.prompts.contains(&key) {
                let mut v = std::mem::take(&mut d.prompts).into_vec();
                v.push(key);
                d.prompts = v.into_boxed_slice();
            }
        }
    }

    /// Counts each user's working days from their own day boundary ([`day_boundary`]):
    /// midnight for most, the middle of the quiet part of the day for night workers.
    /// Called once all rows are in, on the tenant's log and on every simulated one alike,
    /// so that both are measured the same way. Users never active around midnight keep
    /// calendar days.
    pub fn align_days(&mut self, options: &FitOptions) {
        let min_quiet = (options.night_min_quiet_seconds / SLOT_SECONDS).max(1) as usize;
        for u in &mut self.aggs {
            let boundary = day_boundary(&u.days, min_quiet);
            if boundary != 0 {
                u.days = u.days.realigned(boundary);
                u.boundary = boundary as u8;
            }
        }
    }

    /// Each user's traits, in a fixed order (by user key).
    pub fn user_views(&self, options: &FitOptions) -> Vec<UserView> {
        let mut keys: Vec<(u64, u32)> = self.index.iter().map(|(k, i)| (*k, *i)).collect();
        keys.sort_unstable();
        keys.into_iter()
            .map(|(k, i)| UserView::of(k, &self.aggs[i as usize], options))
            .collect()
    }

    pub fn group_name(&self, id: u32) -> &str {
        self.groups
            .get(id as usize)
            .map_or("(other groups)", |g| g.as_str())
    }

    /// Weekdays and weekend days of the window of a user whose rows are in `files` (a
    /// bit set, as [`UserAgg::files`]).
    fn user_weekdays(&self, files: u64) -> (u32, u32) {
        if self.fixed_window || self.files.len() <= 1 {
            return match (self.first_day, self.last_day) {
                (Some(a), Some(b)) => weekdays_between(a, b),
                _ => (0, 0),
            };
        }
        let windows = self
            .files
            .iter()
            .enumerate()
            .filter(|(i, _)| files >> (*i).min(63) & 1 == 1)
            .filter_map(|(_, w)| *w);
        merge_windows(windows)
            .into_iter()
            .map(|(a, b)| weekdays_between(a, b))
            .fold((0, 0), |(x, y), (a, b)| (x + a, y + b))
    }
}

/// Windows (first and last day), overlapping or adjacent ones merged, in day order.
fn merge_windows(windows: impl Iterator<Item = (i32, i32)>) -> Vec<(i32, i32)> {
    let mut all: Vec<(i32, i32)> = windows.collect();
    all.sort_unstable();
    let mut out: Vec<(i32, i32)> = Vec::new();
    for (a, b) in all {
        match out.last_mut() {
            Some(last) if a as i64 <= last.1 as i64 + 1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

/// Weekdays and weekend days from day `a` to day `b`, both included.
fn weekdays_between(a: i32, b: i32) -> (u32, u32) {
    // Whole weeks have five weekdays each; only the last partial week is walked
    // (issue 35: a window of four billion days was walked day by day).
    let days = (b as i64 - a as i64 + 1).max(0);
    let tail_start = a as i64 + days / 7 * 7;
    let tail = (tail_start..=b as i64).filter(|d| weekday(*d) < 5).count() as i64;
    let weekdays = days / 7 * 5 + tail;
    (weekdays as u32, (days - weekdays) as u32)
}

fn credential_index(c: Credential) -> usize {
    Credential::ALL.iter().position(|x| *x == c).unwrap_or(0)
}

fn mfa_index(m: MfaMethod) -> usize {
    MfaMethod::ALL.iter().position(|x| *x == m).unwrap_or(0)
}

fn argmax<const N: usize>(counts: &[u32; N]) -> Option<usize> {
    let (i, n) = counts
        .iter()
        .enumerate()
        .max_by_key(|(i, n)| (**n, usize::MAX - i))?;
    (*n > 0).then_some(i)
}

/// One user, as the population model sees a user: the device used most, the credential
/// and method used most, and the client used most for each app.
#[derive(Clone, Debug)]
pub struct UserView {
    pub key: u64,
    pub group: Option<u32>,
    pub device: Option<DeviceTrust>,
    pub compliant: Option<bool>,
    pub credential: Option<Credential>,
    pub mfa: Option<MfaMethod>,
    pub trusted: Option<bool>,
    pub clients: [Option<Client>; APPS],
    /// Days the app was used.
    pub app_days: [u32; APPS],
    pub worked_days: u32,
    /// Apps used on at least `cluster_app_days` of the working days, with their client.
    pub signature: Vec<(App, Client)>,
}

impl UserView {
    fn of(key: u64, u: &UserAgg, options: &FitOptions) -> UserView {
        let device = argmax(&[u.devices[0], u.devices[1], u.devices[2], u.devices[3]])
            .map(|i| DeviceTrust::ALL[i]);
        let mut clients = [None; APPS];
        let mut app_days = [0u32; APPS];
        for (a, c) in u.clients.iter().enumerate() {
            if c[0] + c[1] > 0 {
                clients[a] = Some(if c[0] >= c[1] {
                    Client::Browser
                } else {
                    Client::Native
                });
            }
        }
        for d in u.days.iter() {
            for (a, n) in app_days.iter_mut().enumerate() {
                *n += (d.slots[a] != 0) as u32;
            }
        }
        let worked_days = u.days.len() as u32;
        let signature = App::ALL
            .iter()
            .filter(|a| {
                let days = app_days[a.index()] as f64;
                worked_days > 0 && days / worked_days as f64 >= options.cluster_app_days
            })
            .map(|a| (*a, clients[a.index()].unwrap_or(Client::Native)))
            .collect();
        UserView {
            key,
            group: u.group,
            device,
            compliant: (u.compliant[0] + u.compliant[1] > 0)
                .then(|| u.compliant[1] >= u.compliant[0]),
            credential: argmax(&u.credentials).map(|i| Credential::ALL[i]),
            mfa: argmax(&u.mfa).map(|i| MfaMethod::ALL[i]),
            trusted: (u.locations[0] + u.locations[1] > 0)
                .then(|| u.locations[1] >= u.locations[0]),
            clients,
            app_days,
            worked_days,
            signature,
        }
    }
}

/// Mean and standard deviation, accumulated.
#[derive(Clone, Copy, Debug, Default)]
pub struct Spread {
    pub n: u64,
    sum: f64,
    sum_sq: f64,
}

impl Spread {
    fn add(&mut self, x: f64) {
        self.n += 1;
        self.sum += x;
        self.sum_sq += x * x;
    }
    pub fn mean(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.sum / self.n as f64
        }
    }
    pub fn sd(&self) -> f64 {
        if self.n < 2 {
            return 0.0;
        }
        let m = self.mean();
        ((self.sum_sq / self.n as f64 - m * m).max(0.0) * self.n as f64 / (self.n - 1) as f64)
            .sqrt()
    }
}

/// One user's working days and prompts, by where they were asked.
#[derive(Clone, Copy, Debug, Default)]
pub struct UserPrompts {
    pub user_days: u64,
    /// Prompts by app (`App::index`).
    pub apps: [u64; APPS],
    /// Device sign-ins (Windows), and apps the simulator does not model.
    pub device: u64,
    pub other: u64,
}

impl UserPrompts {
    /// Prompts on what the simulator models: apps and device sign-ins.
    pub fn modelled(&self) -> u64 {
        self.apps.iter().sum::<u64>() + self.device
    }
}

/// The statistics of a set of users that the population model reproduces.
#[derive(Clone, Debug, Default)]
pub struct Moments {
    pub users: usize,
    pub user_days: u64,
    /// Users by main device; `device_known` of them had device columns.
    pub devices: [usize; 4],
    pub device_known: usize,
    /// Users with an Entra device identity whose compliance is known, and how many are
    /// compliant.
    pub compliance_known: usize,
    pub compliant: usize,
    pub credentials: [usize; 3],
    pub mfa: [usize; 3],
    pub location_known: usize,
    pub trusted: usize,
    /// Users of each app, and how many of them use it in the browser.
    pub app_users: [usize; APPS],
    pub app_browser_users: [usize; APPS],
    /// Users of each app, whether or not their rows say the client (a log without a
    /// client column has none of the above).
    pub app_day_users: [usize; APPS],
    /// Active 15-minute slots of each app per working user-day (all users' days).
    pub slots_per_day: [f64; APPS],
    /// Share of an app's user-days that look like background sync.
    pub background_days: [f64; APPS],
    /// Share of an app's user-days with another app on which the app's first sign-in
    /// comes within a quarter hour of the day's first; and how many such days there were.
    pub leading_days: [f64; APPS],
    pub shared_days: [u64; APPS],
    /// User-days on which each app was used.
    pub app_days: [u64; APPS],
    /// First sign-in of the day and the span to the last, seconds of the local day.
    pub first: Spread,
    pub span: Spread,
    /// Share of the window's weekdays (weekend days) a user signed in on, averaged.
    pub weekday_share: f64,
    pub weekend_share: f64,
    /// Prompts (one per app and 15-minute slot) by app, device sign-in and unmodelled
    /// apps.
    pub prompts: [u64; SLOTS],
}

impl Moments {
    /// Prompts per working user-day on what the simulator models (apps and device
    /// sign-ins).
    pub fn prompts_per_user_day(&self) -> f64 {
        ratio(
            self.prompts[..OTHER_SLOT].iter().sum::<u64>() as f64,
            self.user_days,
        )
    }

    pub fn app_prompts_per_user_day(&self, app: App) -> f64 {
        ratio(self.prompts[app.index()] as f64, self.user_days)
    }

    pub fn device_sign_in_prompts_per_user_day(&self) -> f64 {
        ratio(self.prompts[DEVICE_SLOT] as f64, self.user_days)
    }

    pub fn other_prompts_per_user_day(&self) -> f64 {
        ratio(self.prompts[OTHER_SLOT] as f64, self.user_days)
    }
}

fn ratio(x: f64, n: u64) -> f64 {
    if n == 0 {
        0.0
    } else {
        x / n as f64
    }
}

/// Whether an app leads its users' days as an app that renews its tokens when the device
/// wakes does ([`FitOptions::background_leading_share`]), on enough days to tell: a
/// third of the app's user-days shared with another app.
fn is_leading(m: &Moments, a: usize, options: &FitOptions) -> bool {
    m.shared_days[a] > 0
        && 3 * m.shared_days[a] >= m.app_days[a]
        && m.leading_days[a] >= options.background_leading_share
}

/// Whether one day of an app looks like background sync.
fn background_day(slots: u128, day_first: u32, day_last: u32, max_gap: i64) -> bool {
    if slots == 0 {
        return false;
    }
    let lo = slots.trailing_zeros() as i64;
    let hi = 127 - slots.leading_zeros() as i64;
    let span = (hi - lo + 1) * SLOT_SECONDS;
    let day_span = (day_last as i64 - day_first as i64).max(SLOT_SECONDS);
    if span * 2 < day_span {
        return false;
    }
    let mut gap = 0i64;
    for i in lo..=hi {
        if slots >> i & 1 == 1 {
            gap = 0;
        } else {
            gap += SLOT_SECONDS;
            if gap > max_gap {
                return false;
            }
        }
    }
    true
}

impl LogSummary {
    /// The moments of the given users (indexes into `views`, which `user_views` made).
    pub fn moments(&self, views: &[UserView], members: &[usize], options: &FitOptions) -> Moments {
        let mut m = Moments {
            users: members.len(),
            ..Moments::default()
        };
        // Users of the same files share a window: computed once per set of files.
        let mut windows: HashMap<u64, (u32, u32)> = HashMap::new();
        let mut slot_sum = [0u64; APPS];
        let mut app_day_count = [0u64; APPS];
        let mut background = [0u64; APPS];
        let mut leading = [0u64; APPS];
        let mut shared = [0u64; APPS];
        let (mut weekday_sum, mut weekend_sum) = (0.0, 0.0);
        for &i in members {
            let v = &views[i];
            let u = self.user(v.key);
            let (weekdays, weekend) = *windows
                .entry(u.files)
                .or_insert_with(|| self.user_weekdays(u.files));
            if let Some(d) = v.device {
                m.devices[d.index()] += 1;
                m.device_known += 1;
                if d != DeviceTrust::Unmanaged {
                    if let Some(c) = v.compliant {
                        m.compliance_known += 1;
                        m.compliant += c as usize;
                    }
                }
            }
            if let Some(c) = v.credential {
                m.credentials[credential_index(c)] += 1;
            }
            if let Some(x) = v.mfa {
                m.mfa[mfa_index(x)] += 1;
            }
            if let Some(t) = v.trusted {
                m.location_known += 1;
                m.trusted += t as usize;
            }
            for a in 0..APPS {
                if let Some(c) = v.clients[a] {
                    m.app_users[a] += 1;
                    m.app_browser_users[a] += (c == Client::Browser) as usize;
                }
                m.app_day_users[a] += (v.app_days[a] > 0) as usize;
            }
            let (mut wd, mut we) = (0u32, 0u32);
            for d in u.days.iter() {
                m.user_days += 1;
                if weekday(d.day as i64) < 5 {
                    wd += 1;
                } else {
                    we += 1;
                }
                m.first.add(d.first as f64);
                m.span.add((d.last - d.first) as f64);
                // The day's first sign-in, as a slot counted from the user's boundary.
                let first_slot = (d.first as i64 / SLOT_SECONDS - u.boundary as i64).max(0);
                let apps_used = d.slots.iter().filter(|s| **s != 0).count();
                for a in 0..APPS {
                    let s = d.slots[a];
                    if s != 0 && apps_used > 1 {
                        shared[a] += 1;
                        leading[a] += (s.trailing_zeros() as i64 <= first_slot + 1) as u64;
                    }
                    slot_sum[a] += s.count_ones() as u64;
                    if s != 0 {
                        app_day_count[a] += 1;
                        background[a] +=
                            background_day(s, d.first, d.last, options.background_max_gap_seconds)
                                as u64;
                    }
                }
                for (slot, p) in m.prompts.iter_mut().enumerate() {
                    *p += d.prompts_in(slot);
                }
            }
            if weekdays > 0 {
                weekday_sum += wd as f64 / weekdays as f64;
            }
            if weekend > 0 {
                weekend_sum += we as f64 / weekend as f64;
            }
        }
        for a in 0..APPS {
            m.slots_per_day[a] = ratio(slot_sum[a] as f64, m.user_days);
            m.background_days[a] = ratio(background[a] as f64, app_day_count[a]);
            m.leading_days[a] = ratio(leading[a] as f64, shared[a]);
            m.shared_days[a] = shared[a];
            m.app_days[a] = app_day_count[a];
        }
        let n = members.len().max(1) as f64;
        m.weekday_share = weekday_sum / n;
        m.weekend_share = weekend_sum / n;
        m
    }

    /// One user's working days and prompts (one per app and 15-minute slot).
    pub fn user_prompts(&self, key: u64) -> UserPrompts {
        let mut out = UserPrompts::default();
        for d in self.user(key).days.iter() {
            out.user_days += 1;
            for (a, p) in out.apps.iter_mut().enumerate() {
                *p += d.prompts_in(a);
            }
            out.device += d.prompts_in(DEVICE_SLOT);
            out.other += d.prompts_in(OTHER_SLOT);
        }
        out
    }

    /// Prompts per working user-day by main device, over all users.
    pub fn prompts_by_device(&self, views: &[UserView]) -> [(u64, u64); 4] {
        let mut out = [(0u64, 0u64); 4];
        for v in views {
            let Some(d) = v.device else { continue };
            let u = self.user(v.key);
            for day in u.days.iter() {
                out[d.index()].0 += day.modelled_prompts();
                out[d.index()].1 += 1;
            }
        }
        out
    }
}

// ---------------------------------------------------------------------------------------
// Personas.

/// A persona to fit: a name and its users (indexes into the views).
#[derive(Clone, Debug)]
pub struct PersonaGroup {
    pub name: String,
    pub members: Vec<usize>,
    /// How the persona was formed, for the output's comments.
    pub basis: String,
    /// The groups and roles the persona's users hold, from `--directory` (those the
    /// policies name): the members' own where they agree, else most members'.
    pub membership: Option<Membership>,
}

/// The membership most of `members` hold (the first in order among equals), and how many
/// hold it; `None` without a directory.
fn majority(members: &[usize], memberships: Option<&[Membership]>) -> Option<(Membership, usize)> {
    let all = memberships?;
    let mut counts: BTreeMap<&Membership, usize> = BTreeMap::new();
    for &i in members {
        *counts.entry(&all[i]).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
        .map(|(m, n)| (m.clone(), n))
}

fn managed(d: Option<DeviceTrust>) -> bool {
    matches!(
        d,
        Some(DeviceTrust::EntraJoined | DeviceTrust::HybridJoined)
    )
}

/// Personas from the `--group-by` values: one per value, small ones merged into "other".
pub fn group_personas(
    summary: &LogSummary,
    views: &[UserView],
    options: &FitOptions,
    field: &str,
    memberships: Option<&[Membership]>,
) -> Vec<PersonaGroup> {
    let mut by_group: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (i, v) in views.iter().enumerate() {
        let name = v
            .group
            .map_or("(none)", |g| summary.group_name(g))
            .to_string();
        by_group.entry(name).or_default().push(i);
    }
    let total = views.len().max(1) as f64;
    let mut groups: Vec<PersonaGroup> = Vec::new();
    let mut small: Vec<usize> = Vec::new();
    let mut small_names = 0usize;
    for (name, members) in by_group {
        if (members.len() as f64) / total < options.min_persona_share {
            small.extend(members);
            small_names += 1;
        } else {
            groups.push(PersonaGroup {
                basis: format!("users whose `{field}` is `{name}`"),
                membership: majority(&members, memberships).map(|m| m.0),
                name,
                members,
            });
        }
    }
    // Largest first, then by name: a fixed order.
    groups.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then(a.name.cmp(&b.name))
    });
    while groups.len() > options.max_personas.max(1) - (!small.is_empty()) as usize {
        let Some(g) = groups.pop() else { break };
        small.extend(g.members);
        small_names += 1;
    }
    if !small.is_empty() {
        small.sort_unstable();
        // A value may itself be `other`: the bucket's name must not repeat it.
        let mut name = "other".to_string();
        let mut n = 1;
        while groups.iter().any(|g| g.name == name) {
            n += 1;
            name = format!("other ({n})");
        }
        groups.push(PersonaGroup {
            name,
            basis: format!("{small_names} smaller `{field}` values together"),
            membership: majority(&small, memberships).map(|m| m.0),
            members: small,
        });
    }
    groups
}

/// A behaviour cluster's key: personal device (not managed), the (app, client) indexes
/// used on most working days, and the groups and roles that policies name (from
/// `--directory`; empty without one).
type ClusterKey = (bool, Vec<(usize, usize)>, Membership);

/// Personas from behaviour: users with the same kind of device (managed: joined or hybrid
/// joined; personal: registered or unmanaged) and the same apps in the same clients form
/// a cluster; clusters under `min_persona_share` join the most similar larger one.
///
/// With `memberships` (one per view, from `--directory`), users who hold different groups
/// or roles that policies name are told apart too, and a small cluster joins one whose
/// users hold the same ones before any other: a role-targeted policy must find its users.
pub fn cluster_personas(
    views: &[UserView],
    options: &FitOptions,
    memberships: Option<&[Membership]>,
) -> Vec<PersonaGroup> {
    let mut clusters: BTreeMap<ClusterKey, Vec<usize>> = BTreeMap::new();
    for (i, v) in views.iter().enumerate() {
        let sig = v
            .signature
            .iter()
            .map(|(a, c)| (a.index(), c.index()))
            .collect();
        let member = memberships.map(|m| m[i].clone()).unwrap_or_default();
        clusters
            .entry((!managed(v.device), sig, member))
            .or_default()
            .push(i);
    }
    let mut list: Vec<(ClusterKey, Vec<usize>)> = clusters.into_iter().collect();
    // Largest first; equal sizes keep the key order.
    list.sort_by_key(|c| std::cmp::Reverse(c.1.len()));
    let total = views.len().max(1) as f64;
    let limit = options.max_personas.max(1);
    while list.len() > 1 {
        let last = list.len() - 1;
        let small = (list[last].1.len() as f64) / total < options.min_persona_share;
        if !small && list.len() <= limit {
            break;
        }
        let Some((key, members)) = list.pop() else {
            break;
        };
        // The most similar remaining cluster: same kind of device first, then the largest
        // overlap of apps and clients, then the largest.
        let score = |k: &ClusterKey| {
            let inter = k.1.iter().filter(|x| key.1.contains(x)).count();
            let union = k.1.len() + key.1.len() - inter;
            let jaccard = if union == 0 {
                1.0
            } else {
                inter as f64 / union as f64
            };
            (
                (k.2 == key.2) as u8,
                (k.0 == key.0) as u8,
                (jaccard * 1e6) as u64,
            )
        };
        let best = (0..list.len())
            .max_by(|&a, &b| score(&list[a].0).cmp(&score(&list[b].0)).then(b.cmp(&a)))
            // At least one cluster remains: there were two before the pop.
            .unwrap_or(0);
        list[best].1.extend(members);
        list[best].1.sort_unstable();
        list.sort_by_key(|c| std::cmp::Reverse(c.1.len()));
    }
    let mut counters = [0usize; 2];
    let with_directory = memberships.is_some();
    list.into_iter()
        .map(|((personal, sig, member), members)| {
            let kind = if personal { "personal" } else { "managed" };
            counters[personal as usize] += 1;
            let apps: Vec<String> = sig
                .iter()
                .map(|(a, c)| format!("{} ({})", App::ALL[*a].name(), Client::ALL[*c].name()))
                .collect();
            PersonaGroup {
                name: format!("{kind}_{}", counters[personal as usize]),
                basis: format!(
                    "behaviour: {} devices; apps used on most working days: {}",
                    if personal {
                        "personal (registered or unmanaged)"
                    } else {
                        "managed (joined or hybrid joined)"
                    },
                    if apps.is_empty() {
                        "none".to_string()
                    } else {
                        apps.join(", ")
                    }
                ),
                membership: with_directory.then_some(member),
                members,
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------
// The fitted parameters.

#[derive(Clone, Debug, PartialEq)]
pub struct FittedApp {
    pub app: App,
    pub client: ClientChoice,
    pub background: bool,
    /// Background told by the app leading its users' days, not by a day-long trail of
    /// sign-ins ([`FitOptions::background_leading_share`]).
    pub leads_days: bool,
    /// Foreground sessions per working day.
    pub sessions: f64,
    /// Users of the persona who use the app.
    pub user_share: f64,
}

/// One persona's fitted numbers; `None` where the log did not show the fact.
#[derive(Clone, Debug)]
pub struct FittedPersona {
    pub name: String,
    pub basis: String,
    pub share: f64,
    pub devices: Option<[f64; 4]>,
    pub compliant: Option<f64>,
    pub browser_share: f64,
    pub credentials: Option<[f64; 3]>,
    pub mfa: Option<[f64; 3]>,
    pub trusted_location: Option<f64>,
    /// Seconds of the local day.
    pub start: f64,
    pub start_jitter: f64,
    pub length: f64,
    pub length_jitter: f64,
    pub workday_share: f64,
    pub weekend_share: f64,
    pub apps: Vec<FittedApp>,
    /// Behaviour that shows in the log only through the prompts it causes, fitted by
    /// simulation against the tenant's current policies (`calibrate --policies`); `None`
    /// until then, and the template's value is written.
    pub behaviour: Option<Behaviour>,
    /// Groups and roles from `--directory`, with how many of the persona's users hold
    /// exactly these; `None` without a directory (then the template persona's).
    pub membership: Option<(Membership, usize)>,
    /// What the log showed, for the comments and the simulated comparison.
    pub observed: Moments,
}

/// Behaviour fitted by simulation, one value per persona, the one its prompts depend on
/// most: on devices with a PRT, the share of users who sign out of a shared device at
/// the end of every day (each day then starts without a session); elsewhere, the share
/// who answer "Stay signed in?" yes (the others' cookies die with the browser), and,
/// where that share can do no more (every cookie already dies with the browser, or a
/// persistent-browser policy decides instead of the user), browser restarts per day.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Behaviour {
    pub sign_out_share: f64,
    pub kmsi_accept: f64,
    pub browser_restarts: f64,
}

impl Behaviour {
    /// The template persona's values (`name`'s, else the first's), where the fit starts.
    pub fn of_template(template: &Template, name: &str) -> Behaviour {
        let (tp, _) = template.persona(name);
        let work = tp.and_then(|t| t.get("work")).and_then(|w| w.as_table());
        let float = |t: Option<&toml::Table>, k: &str, default: f64| {
            t.and_then(|t| t.get(k))
                .and_then(|v| v.as_float().or_else(|| v.as_integer().map(|i| i as f64)))
                .unwrap_or(default)
        };
        let signs_out = work
            .and_then(|w| w.get("end_of_day"))
            .and_then(|v| v.as_str())
            == Some("sign_out");
        Behaviour {
            sign_out_share: float(work, "sign_out_share", if signs_out { 1.0 } else { 0.0 }),
            kmsi_accept: float(tp, "kmsi_accept", 0.5),
            browser_restarts: float(work, "browser_restarts", 0.0),
        }
    }
}

fn shares<const N: usize>(counts: &[usize; N]) -> Option<[f64; N]> {
    let total: usize = counts.iter().sum();
    (total > 0).then(|| {
        let mut out = [0.0; N];
        for (o, c) in out.iter_mut().zip(counts) {
            *o = *c as f64 / total as f64;
        }
        out
    })
}

/// First estimates straight from the log's moments; `calibrate::pipeline` then corrects the
/// work pattern and the foreground sessions by simulating.
pub fn initial_fit(
    group: &PersonaGroup,
    m: Moments,
    total_users: usize,
    options: &FitOptions,
) -> FittedPersona {
    let mut apps = Vec::new();
    let mut either = (0usize, 0usize);
    for app in App::ALL {
        let a = app.index();
        // Without a client on any of the app's rows (a log with no client column), its
        // users are still its users; its client is `either`, at the persona's share.
        let client_known = m.app_users[a] > 0;
        let users = if client_known {
            m.app_users[a]
        } else {
            m.app_day_users[a]
        };
        if m.users == 0 || (users as f64) / (m.users as f64) < options.app_user_share {
            continue;
        }
        let browser = m.app_browser_users[a] as f64 / users as f64;
        let client = if !client_known {
            ClientChoice::Either
        } else if browser >= options.client_purity {
            ClientChoice::Browser
        } else if browser <= 1.0 - options.client_purity {
            ClientChoice::Native
        } else {
            either.0 += m.app_browser_users[a];
            either.1 += users;
            ClientChoice::Either
        };
        let trail = m.background_days[a] >= options.background_day_share;
        let leads_days = !trail && is_leading(&m, a, options);
        let background = trail || leads_days;
        apps.push(FittedApp {
            app,
            client,
            background,
            leads_days,
            sessions: if background { 0.0 } else { m.slots_per_day[a] },
            user_share: users as f64 / m.users as f64,
        });
    }
    let browser_share = if either.1 > 0 {
        either.0 as f64 / either.1 as f64
    } else {
        0.5
    };
    let devices = (m.device_known > 0).then(|| shares(&m.devices)).flatten();
    let mut credentials = shares(&m.credentials);
    if let (Some(d), Some(c)) = (devices, credentials.as_mut()) {
        // Windows Hello needs a device with an Entra identity; on personal devices a
        // Windows Hello sign-in (seen on a colleague's managed PC) reads as a password.
        if d[DeviceTrust::Unmanaged.index()] >= 1.0 {
            c[0] += c[1];
            c[1] = 0.0;
        }
    }
    FittedPersona {
        name: group.name.clone(),
        basis: group.basis.clone(),
        share: m.users as f64 / total_users.max(1) as f64,
        devices,
        compliant: (m.compliance_known > 0).then(|| m.compliant as f64 / m.compliance_known as f64),
        browser_share,
        credentials,
        mfa: shares(&m.mfa),
        trusted_location: (m.location_known > 0)
            .then(|| m.trusted as f64 / m.location_known as f64),
        start: m.first.mean(),
        start_jitter: m.first.sd(),
        // The simulator's shortest workday is 30 minutes.
        length: m.span.mean().max(1800.0),
        length_jitter: m.span.sd(),
        workday_share: m.weekday_share.clamp(0.0, 1.0),
        weekend_share: m.weekend_share.clamp(0.0, 1.0),
        apps,
        behaviour: None,
        membership: group.membership.clone().map(|m| (m, 0)),
        observed: m,
    }
}

// ---------------------------------------------------------------------------------------
// Writing the population file.

/// The population whose values fill in what logs cannot show.
pub struct Template {
    pub name: String,
    table: toml::Table,
}

/// The shipped populations, by name, usable as `--template NAME` wherever calibrate runs;
/// the quickstart population's values are the default template.
pub const SHIPPED_TEMPLATES: [(&str, &str); 3] = [
    (
        "quickstart",
        include_str!("../../models/populations/quickstart.toml"),
    ),
    (
        "enterprise",
        include_str!("../../models/populations/enterprise.toml"),
    ),
    ("byod", include_str!("../../models/populations/byod.toml")),
];

impl Template {
    pub fn builtin() -> Template {
        Template::shipped("quickstart").expect("the quickstart population is shipped")
    }

    /// A shipped population, by name (`quickstart`, `enterprise`, `byod`).
    pub fn shipped(name: &str) -> Option<Template> {
        let (name, text) = SHIPPED_TEMPLATES.iter().find(|(n, _)| *n == name)?;
        Some(
            Template::parse(&format!("models/populations/{name}.toml (built in)"), text)
                .expect("the shipped populations parse"),
        )
    }

    /// `source` must already have loaded as a population.
    pub fn parse(name: &str, source: &str) -> Result<Template, String> {
        let table: toml::Table = toml::from_str(source).map_err(|e| e.to_string())?;
        Ok(Template {
            name: name.to_string(),
            table,
        })
    }

    fn personas(&self) -> &[toml::Value] {
        self.table
            .get("persona")
            .and_then(|p| p.as_array())
            .map_or(&[], |a| a.as_slice())
    }

    /// The template persona of the same name, else the first.
    pub fn persona(&self, name: &str) -> (Option<&toml::Table>, bool) {
        let ps = self.personas();
        if let Some(p) = ps
            .iter()
            .filter_map(|p| p.as_table())
            .find(|p| p.get("name").and_then(|n| n.as_str()) == Some(name))
        {
            return (Some(p), true);
        }
        (ps.first().and_then(|p| p.as_table()), false)
    }
}

/// Where the numbers came from, for the file's header.
pub struct Provenance {
    pub files: Vec<String>,
    pub rows: u64,
    pub users: usize,
    pub window_days: u32,
    pub utc_offset_seconds: i64,
    pub rounds: u32,
    pub simulated_users: u64,
}

/// A time of day; times past midnight (a night shift's sign-ins, counted from the
/// previous day) wrap.
fn clock(seconds: f64) -> String {
    let s = (seconds.round().max(0.0) as i64).rem_euclid(86_400);
    format!("{:02}:{:02}", s / 3600, (s % 3600) / 60)
}

fn duration(seconds: f64) -> String {
    let s = seconds.round().max(0.0) as u64;
    // Whole minutes: the fit is not finer than that.
    let m = ((s + 30) / 60).max(if s > 0 { 1 } else { 0 });
    crate::engine::time::Duration::from_secs(m * 60).to_string()
}

fn num(x: f64) -> String {
    let v = (x * 1000.0).round() / 1000.0;
    let s = format!("{v}");
    if s.contains('.') || s.contains('e') {
        s
    } else {
        format!("{s}.0")
    }
}

/// Shares rounded to thousandths that still sum to exactly 1000 thousandths (the largest
/// remainders get the spare units), so that the file's shares sum to 1.
fn thousandths(values: &[f64]) -> Vec<u32> {
    let total: f64 = values.iter().sum();
    if total <= 0.0 {
        return vec![0; values.len()];
    }
    let exact: Vec<f64> = values.iter().map(|v| v / total * 1000.0).collect();
    let mut out: Vec<u32> = exact.iter().map(|x| x.floor() as u32).collect();
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| {
        (exact[b] - exact[b].floor())
            .partial_cmp(&(exact[a] - exact[a].floor()))
            .unwrap_or(std::cmp::Ordering::Equal)
            .then(a.cmp(&b))
    });
    let spare = 1000u32.saturating_sub(out.iter().sum::<u32>());
    for &i in order.iter().take(spare as usize) {
        out[i] += 1;
    }
    out
}

fn mix(names: &[&str], values: &[f64]) -> String {
    let v: Vec<f64> = thousandths(values)
        .iter()
        .map(|t| *t as f64 / 1000.0)
        .collect();
    let parts: Vec<String> = names
        .iter()
        .zip(&v)
        .filter(|(_, x)| **x > 0.0)
        .map(|(n, x)| format!("{n} = {}", num(*x)))
        .collect();
    format!("{{ {} }}", parts.join(", "))
}

fn pct(n: usize, d: usize) -> String {
    if d == 0 {
        "-".into()
    } else {
        format!("{:.0}%", 100.0 * n as f64 / d as f64)
    }
}

/// The population file: fitted numbers with comments saying what each was fitted from and
/// on how many rows or users; template values marked as such. No user names, IP addresses
/// or device names.
pub fn population_toml(
    name: &str,
    personas: &[FittedPersona],
    template: &Template,
    provenance: &Provenance,
) -> String {
    let mut out = String::new();
    let w = &mut out;
    let _ = writeln!(
        w,
        "# Fitted by `sessionsim calibrate` from the tenant's sign-in logs:"
    );
    for f in &provenance.files {
        let _ = writeln!(w, "#   {}", comment(f));
    }
    let offset_h = provenance.utc_offset_seconds as f64 / 3600.0;
    let _ = writeln!(
        w,
        "# {} sign-ins of {} users over {} days; times are local at UTC{}{}.",
        provenance.rows,
        provenance.users,
        provenance.window_days,
        if offset_h < 0.0 { "-" } else { "+" },
        num(offset_h.abs()).trim_end_matches(".0")
    );
    let _ = writeln!(
        w,
        "# Work patterns and foreground sessions were corrected in {} of simulation ({} simulated users each), so that a simulated log shows what the tenant's log shows (docs/model.md, \"Calibration\").",
        plural(provenance.rounds as u64, "round"),
        provenance.simulated_users
    );
    let _ = writeln!(
        w,
        "# Each persona's header says which values were fitted from the log, which by simulation, from how many users, and which come from the template."
    );
    let _ = writeln!(
        w,
        "# Values marked `template` are not visible in sign-in logs; they come from {}. Review them.",
        comment(&template.name)
    );
    let _ = writeln!(
        w,
        "# No user names, IP addresses or device names are copied."
    );
    let _ = writeln!(w, "name = {}", toml::Value::String(name.to_string()));
    let _ = writeln!(
        w,
        "description = {}",
        toml::Value::String(format!(
            "Fitted from {} users' sign-in logs",
            provenance.users
        ))
    );
    if let Some(d) = template.table.get("domain") {
        let _ = writeln!(w, "domain = {d}");
    }
    for key in ["remediation", "threat"] {
        if let Some(toml::Value::Table(t)) = template.table.get(key) {
            let _ = writeln!(w, "\n# template: [{key}]");
            write_table(w, key, t);
        }
    }
    let shares = thousandths(&personas.iter().map(|p| p.share).collect::<Vec<_>>());
    for (p, share) in personas.iter().zip(shares) {
        write_persona(w, p, share as f64 / 1000.0, template, provenance);
    }
    out
}

/// A table with its sub-tables, as TOML sections.
fn write_table(w: &mut String, path: &str, t: &toml::Table) {
    let _ = writeln!(w, "[{path}]");
    for (k, v) in t {
        if !matches!(v, toml::Value::Table(_)) {
            let _ = writeln!(w, "{k} = {v}");
        }
    }
    for (k, v) in t {
        if let toml::Value::Table(sub) = v {
            let _ = writeln!(w);
            write_table(w, &format!("{path}.{k}"), sub);
        }
    }
}

fn write_persona(
    out: &mut String,
    p: &FittedPersona,
    share: f64,
    template: &Template,
    provenance: &Provenance,
) {
    let m = &p.observed;
    let (tp, same_name) = template.persona(&p.name);
    let get = |k: &str| tp.and_then(|t| t.get(k));
    // Where each value comes from, for the persona's header.
    let mut src = Sources::default();
    let mut body = String::new();
    let w = &mut body;
    let _ = writeln!(w, "[[persona]]");
    let _ = writeln!(w, "name = {}", toml::Value::String(p.name.clone()));
    let _ = writeln!(w, "share = {}", num(share));
    src.log.push("share");
    let names = ["entra_joined", "hybrid_joined", "registered", "unmanaged"];
    match p.devices {
        Some(d) => {
            let _ = writeln!(
                w,
                "devices = {}   # main device of {} users (deviceDetail.trustType)",
                mix(&names, &d),
                m.device_known
            );
            src.log.push("devices");
        }
        None => {
            let v = get("devices").map_or("{ unmanaged = 1.0 }".to_string(), |v| v.to_string());
            let _ = writeln!(
                w,
                "devices = {v}   # template: the log has no device columns"
            );
            src.template.push("devices");
        }
    }
    match p.compliant {
        Some(c) => {
            let _ = writeln!(
                w,
                "compliant = {}   # {} of {} users with an Entra device identity (deviceDetail.isCompliant)",
                num(c),
                m.compliant,
                m.compliance_known
            );
            src.log.push("compliant");
        }
        None => template_key(
            w,
            &mut src,
            tp,
            "compliant",
            "the log does not show compliance",
        ),
    }
    let either_users: usize = p
        .apps
        .iter()
        .filter(|a| a.client == ClientChoice::Either)
        .map(|a| m.app_users[a.app.index()])
        .sum();
    let _ = writeln!(
        w,
        "browser_share = {}   # {} (clientAppUsed of apps used both ways)",
        num(p.browser_share),
        if either_users > 0 {
            format!("over {either_users} user-app pairs")
        } else {
            "no app is used both ways: unused".to_string()
        }
    );
    if either_users > 0 {
        src.log.push("browser_share");
    }
    match p.credentials {
        Some(c) => {
            let total: usize = m.credentials.iter().sum();
            let _ = writeln!(
                w,
                "credentials = {}   # main first factor of {total} users (authenticationDetails)",
                mix(&["password", "whfb", "passkey"], &c)
            );
            src.log.push("credentials");
        }
        None => {
            let unmanaged_only = p
                .devices
                .is_some_and(|d| d[DeviceTrust::Unmanaged.index()] >= 1.0);
            match get("credentials").and_then(|v| v.as_table()) {
                Some(t) if unmanaged_only && t.get("whfb").is_some() => {
                    // Windows Hello needs a device with an Entra identity.
                    let share = |k: &str| t.get(k).and_then(|v| v.as_float()).unwrap_or(0.0);
                    let c = [share("password") + share("whfb"), 0.0, share("passkey")];
                    let _ = writeln!(
                        w,
                        "credentials = {}   # template, with Windows Hello read as password on unmanaged devices: the log has no authentication details",
                        mix(&["password", "whfb", "passkey"], &c)
                    );
                    src.template.push("credentials");
                }
                _ => template_key(
                    w,
                    &mut src,
                    tp,
                    "credentials",
                    "the log has no authentication details",
                ),
            }
        }
    }
    match p.mfa {
        Some(c) => {
            let total: usize = m.mfa.iter().sum();
            let _ = writeln!(
                w,
                "mfa = {}   # main second factor of {total} users; pushes read as number matching (enforced since 2023)",
                mix(&["push", "push_number_match", "passkey"], &c)
            );
            src.log.push("mfa");
        }
        None => template_key(
            w,
            &mut src,
            tp,
            "mfa",
            "the log has no second-factor details",
        ),
    }
    match p.behaviour {
        Some(b) => {
            let _ = writeln!(
                w,
                "kmsi_accept = {}   # fitted by simulation to the {} prompts per working user-day observed",
                num(b.kmsi_accept),
                num(m.prompts_per_user_day())
            );
            src.simulation.push("kmsi_accept");
        }
        None => template_key(
            w,
            &mut src,
            tp,
            "kmsi_accept",
            "sign-in logs do not show the answer to \"Stay signed in?\"",
        ),
    }
    match p.trusted_location {
        Some(t) => {
            let _ = writeln!(
                w,
                "trusted_location = {}   # {} of {} users sign in mostly from a trusted named location (networkLocationDetails)",
                num(t),
                m.trusted,
                m.location_known
            );
            src.log.push("trusted_location");
        }
        None => template_key(
            w,
            &mut src,
            tp,
            "trusted_location",
            "the log has no network location details",
        ),
    }
    if let Some(v) = get("platform") {
        let _ = writeln!(w, "platform = {v}   # template");
        src.template.push("platform");
    }
    if let Some((member, holding)) = &p.membership {
        let list = |ids: &[String]| {
            toml::Value::Array(ids.iter().map(|i| toml::Value::String(i.clone())).collect())
        };
        let why = format!(
            "from --directory: {} of the {} hold exactly these, of the groups and roles the policies name",
            holding, m.users
        );
        let _ = writeln!(w, "groups = {}   # {why}", list(&member.groups));
        let _ = writeln!(w, "roles = {}   # {why}", list(&member.roles));
        src.directory.extend(["groups", "roles"]);
    }
    if same_name {
        for k in [
            "groups",
            "roles",
            "guest",
            "named_location",
            "device_attributes",
        ] {
            if p.membership.is_some() && (k == "groups" || k == "roles") {
                continue;
            }
            if let Some(v) = get(k) {
                let _ = writeln!(w, "{k} = {v}   # template persona `{}`", comment(&p.name));
                src.template.push(k);
            }
        }
    }
    if p.apps.is_empty() {
        let _ = writeln!(
            w,
            "apps = []   # none of the apps the simulator models is used by enough of these users"
        );
    }
    // Work pattern.
    let work = get("work").and_then(|v| v.as_table());
    let _ = writeln!(w, "\n[persona.work]");
    let _ = writeln!(
        w,
        "start = \"{}\"   # first sign-in of the day: {} observed on {} user-days",
        clock(p.start),
        clock(m.first.mean()),
        m.first.n
    );
    let _ = writeln!(
        w,
        "start_jitter = \"{}\"   # observed sd {}",
        duration(p.start_jitter),
        duration(m.first.sd())
    );
    let _ = writeln!(
        w,
        "length = \"{}\"   # first to last sign-in: {} observed",
        duration(p.length),
        duration(m.span.mean())
    );
    let _ = writeln!(
        w,
        "length_jitter = \"{}\"   # observed sd {}",
        duration(p.length_jitter),
        duration(m.span.sd())
    );
    let _ = writeln!(
        w,
        "workday_share = {}   # {} of weekdays with a sign-in, per user",
        num(p.workday_share),
        num(m.weekday_share)
    );
    let _ = writeln!(
        w,
        "weekend_share = {}   # {} of weekend days with a sign-in, per user",
        num(p.weekend_share),
        num(m.weekend_share)
    );
    src.simulation.extend([
        "work.start",
        "work.start_jitter",
        "work.length",
        "work.length_jitter",
        "work.workday_share",
        "work.weekend_share",
    ]);
    let fitted: &[&str] = if p.behaviour.is_some() {
        &["sign_out_share", "browser_restarts"]
    } else {
        &[]
    };
    for k in [
        "lunch",
        "breaks",
        "break_length",
        "meetings",
        "meeting_length",
        "meetings_in_teams",
        "browser_restarts",
        "browser_closed_overnight",
        "end_of_day",
        "sign_out_share",
    ] {
        if fitted.contains(&k) {
            continue;
        }
        if let Some(v) = work.and_then(|t| t.get(k)) {
            let _ = writeln!(w, "{k} = {v}   # template");
            src.template.push(work_key(k));
        }
    }
    if let Some(b) = p.behaviour {
        let _ = writeln!(
            w,
            "sign_out_share = {}   # fitted by simulation: users who sign out of a shared device every day (each day then starts with sign-ins)",
            num(b.sign_out_share)
        );
        let _ = writeln!(
            w,
            "browser_restarts = {}   # fitted by simulation where kmsi_accept could do no more, else the template's",
            num(b.browser_restarts)
        );
        src.simulation
            .extend(["work.sign_out_share", "work.browser_restarts"]);
    }
    if !p.apps.is_empty() {
        src.log.push("apps (and their clients)");
    }
    for a in &p.apps {
        let _ = writeln!(w, "\n[[persona.apps]]");
        let i = a.app.index();
        let clients = if m.app_users[i] > 0 {
            pct(m.app_browser_users[i], m.app_users[i]) + " in the browser"
        } else {
            "the log does not say the client: either, at browser_share".to_string()
        };
        let _ = writeln!(
            w,
            "# used by {} of the users ({clients}); {} active 15-minute slots per working day",
            pct(m.app_users[i].max(m.app_day_users[i]), m.users),
            num(m.slots_per_day[i])
        );
        let _ = writeln!(w, "app = \"{}\"", a.app.name());
        let client = match a.client {
            ClientChoice::Browser => "browser",
            ClientChoice::Native => "native",
            ClientChoice::Either => "either",
        };
        let _ = writeln!(w, "client = \"{client}\"");
        if a.background {
            let i = a.app.index();
            if !a.leads_days {
                let _ = writeln!(
                    w,
                    "background = true   # signs in all day ({} of its user-days look like background sync)",
                    pct((m.background_days[i] * 1000.0) as usize, 1000)
                );
            } else {
                let _ = writeln!(
                    w,
                    "background = true   # renews its tokens as the day starts ({} of its days with other apps begin with it), as a syncing app with long-lived tokens does",
                    pct((m.leading_days[i] * 1000.0) as usize, 1000)
                );
            }
        }
        let template_app = tp
            .and_then(|t| t.get("apps"))
            .and_then(|v| v.as_array())
            .and_then(|apps| {
                apps.iter()
                    .filter_map(|x| x.as_table())
                    .find(|x| x.get("app").and_then(|n| n.as_str()) == Some(a.app.name()))
            });
        if a.background {
            let v = template_app
                .and_then(|t| t.get("sessions"))
                .map_or("0".to_string(), |v| v.to_string());
            let _ = writeln!(
                w,
                "sessions = {v}   # template: an app that syncs all day hides when its window is opened"
            );
            src.template.push("apps.sessions (background apps)");
        } else {
            let _ = writeln!(
                w,
                "sessions = {}   # foreground sessions per working day, fitted by simulation",
                num(a.sessions)
            );
            src.simulation.push("apps.sessions");
        }
        match template_app.and_then(|t| t.get("session_length")) {
            Some(v) => {
                let _ = writeln!(w, "session_length = {v}   # template");
                src.template.push("apps.session_length");
            }
            None => {
                let _ = writeln!(w, "session_length = {{ mean = \"15m\" }}   # default: not visible in sign-in logs");
            }
        }
    }
    for k in ["sensitive", "risk"] {
        if let Some(toml::Value::Table(t)) = get(k) {
            let mut t = t.clone();
            // Protected SharePoint sites are opened in SharePoint: users the log never
            // shows in SharePoint open none (issue 33: the template's step-ups were a
            // tenth of a hospital's simulated prompts, on an app nobody there used).
            let sharepoint_unused = m.app_day_users[App::Sharepoint.index()] == 0;
            if k == "sensitive"
                && sharepoint_unused
                && t.get("auth_context_per_week")
                    .and_then(|v| v.as_float().or(v.as_integer().map(|i| i as f64)))
                    .is_some_and(|x| x > 0.0)
            {
                t.insert("auth_context_per_week".into(), toml::Value::Float(0.0));
                let _ = writeln!(
                    w,
                    "\n# template, except auth_context_per_week: none of the persona's users signs in to SharePoint in the log"
                );
            } else {
                let _ = writeln!(w, "\n# template");
            }
            write_table(w, &format!("persona.{k}"), &t);
            src.template
                .push(if k == "risk" { "risk" } else { "sensitive" });
        }
    }
    // The persona's header: what it is, then where its values come from.
    let o = out;
    let _ = writeln!(o, "\n# --- {} ---", comment(&p.name));
    let _ = writeln!(
        o,
        "# {}, {}: {}",
        plural(m.users as u64, "user"),
        plural(m.user_days, "working user-day"),
        comment(&p.basis)
    );
    let list = |keys: &mut Vec<&str>| {
        let mut seen = std::collections::BTreeSet::new();
        keys.retain(|k| seen.insert(*k));
        keys.join(", ")
    };
    if !src.log.is_empty() {
        let _ = writeln!(
            o,
            "# fitted from the log, over its {}: {}",
            plural(m.users as u64, "user"),
            list(&mut src.log)
        );
    }
    if !src.simulation.is_empty() {
        let _ = writeln!(
            o,
            "# fitted by simulation to the log's {} ({} simulated users, {}{}): {}",
            plural(m.users as u64, "user"),
            provenance.simulated_users,
            plural(provenance.rounds as u64, "round"),
            if p.behaviour.is_some() {
                "; behaviour to the prompts under --policies"
            } else {
                ""
            },
            list(&mut src.simulation)
        );
    }
    if !src.directory.is_empty() {
        let _ = writeln!(o, "# from --directory: {}", list(&mut src.directory));
    }
    if !src.template.is_empty() {
        let _ = writeln!(
            o,
            "# from the template ({}, persona `{}`): {}",
            comment(&template.name),
            comment(
                tp.and_then(|t| t.get("name"))
                    .and_then(|n| n.as_str())
                    .unwrap_or("-")
            ),
            list(&mut src.template)
        );
    }
    o.push_str(&body);
}

/// `work.KEY`, for the persona's header.
fn work_key(k: &str) -> &'static str {
    match k {
        "lunch" => "work.lunch",
        "breaks" => "work.breaks",
        "break_length" => "work.break_length",
        "meetings" => "work.meetings",
        "meeting_length" => "work.meeting_length",
        "meetings_in_teams" => "work.meetings_in_teams",
        "browser_restarts" => "work.browser_restarts",
        "browser_closed_overnight" => "work.browser_closed_overnight",
        "end_of_day" => "work.end_of_day",
        "sign_out_share" => "work.sign_out_share",
        _ => "work",
    }
}

/// Where a persona's values come from.
#[derive(Default)]
struct Sources {
    log: Vec<&'static str>,
    simulation: Vec<&'static str>,
    directory: Vec<&'static str>,
    template: Vec<&'static str>,
}

/// Text copied into a TOML comment: file names, group values and field names may hold a
/// newline, which would end the comment and start a key (issue 35). Control characters
/// are written as escapes.
fn comment(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return std::borrow::Cow::Borrowed(text);
    }
    std::borrow::Cow::Owned(
        text.chars()
            .map(|c| {
                if c.is_control() {
                    c.escape_default().to_string()
                } else {
                    c.to_string()
                }
            })
            .collect(),
    )
}

fn template_key(
    w: &mut String,
    src: &mut Sources,
    tp: Option<&toml::Table>,
    key: &'static str,
    why: &str,
) {
    if let Some(v) = tp.and_then(|t| t.get(key)) {
        let _ = writeln!(w, "{key} = {v}   # template: {why}");
        src.template.push(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounded_shares_still_sum_to_one() {
        for values in [
            vec![1.0, 1.0, 1.0],
            vec![0.3734, 0.2601, 0.0899, 0.0766, 0.2],
            vec![0.0, 5.0],
            vec![1e-9, 1.0, 1.0],
        ] {
            let t = thousandths(&values);
            assert_eq!(t.iter().sum::<u32>(), 1000, "{values:?} -> {t:?}");
        }
        assert_eq!(thousandths(&[1.0, 1.0, 1.0]), vec![334, 333, 333]);
    }

    #[test]
    fn background_sync_is_told_from_a_few_foreground_sessions() {
        // Rows every hour from 08:00 to 17:00.
        let hourly: u128 = (32..=68).step_by(4).fold(0, |b, s| b | 1 << s);
        assert!(background_day(hourly, 8 * 3600, 17 * 3600, 2 * 3600));
        // Three sessions: 09:00, 12:00, 16:00 (gaps of 3 h and 4 h).
        let three: u128 = (1 << 36) | (1 << 48) | (1 << 64);
        assert!(!background_day(three, 8 * 3600, 17 * 3600, 2 * 3600));
        // Dense but only an hour of a nine-hour day.
        let hour: u128 = 0b1111 << 40;
        assert!(!background_day(hour, 8 * 3600, 17 * 3600, 2 * 3600));
    }

    fn view(key: u64, device: DeviceTrust, apps: &[(App, Client)]) -> UserView {
        UserView {
            key,
            group: None,
            device: Some(device),
            compliant: None,
            credential: None,
            mfa: None,
            trusted: None,
            clients: [None; APPS],
            app_days: [0; APPS],
            worked_days: 10,
            signature: apps.to_vec(),
        }
    }

    #[test]
    fn small_behaviour_clusters_join_the_most_similar_one_of_their_device_kind() {
        let mail = [
            (App::Exchange, Client::Native),
            (App::Teams, Client::Native),
        ];
        let web = [(App::OfficeWeb, Client::Browser)];
        let mut views = Vec::new();
        for i in 0..60 {
            views.push(view(i, DeviceTrust::EntraJoined, &mail));
        }
        for i in 60..99 {
            views.push(view(i, DeviceTrust::Unmanaged, &web));
        }
        // One managed user with mail and the portal: 1% of users, joins the mail users.
        views.push(view(
            99,
            DeviceTrust::HybridJoined,
            &[mail[0], mail[1], (App::AzurePortal, Client::Browser)],
        ));
        let groups = cluster_personas(&views, &FitOptions::default(), None);
        assert_eq!(groups.len(), 2);
        assert_eq!(groups[0].name, "managed_1");
        assert_eq!(groups[0].members.len(), 61);
        assert!(groups[0].members.contains(&99));
        assert_eq!(groups[1].name, "personal_1");
        assert_eq!(groups[1].members.len(), 39);
    }

    fn sign_in(user: u64, day: i64, second: i64, prompt: bool) -> SignIn {
        SignIn {
            user,
            at: day * DAY_SECONDS + second,
            target: Target::App(App::Teams),
            client: Some(Client::Browser),
            interactive: prompt,
            prompt,
            device: Some(DeviceTrust::EntraJoined),
            compliant: Some(true),
            credential: None,
            mfa: None,
            trusted_location: None,
            group: None,
            error_code: 0,
        }
    }

    #[test]
    fn the_order_of_the_rows_does_not_change_the_moments() {
        // A user of 200 days (a tree past 64) and users of a few, in time order and in a
        // scrambled order (issue 35: days moved from a tree per user to a small vector).
        let mut rows = Vec::new();
        for day in 20_000..20_200 {
            rows.push(sign_in(1, day, 8 * 3600 + (day % 7) * 60, day % 3 == 0));
            rows.push(sign_in(1, day, 17 * 3600, false));
        }
        for user in 2..40 {
            for day in 20_000..20_010 {
                rows.push(sign_in(
                    user,
                    day,
                    9 * 3600 + user as i64 * 60,
                    user % 2 == 0,
                ));
            }
        }
        let fit = FitOptions::default();
        let moments = |rows: &[SignIn]| {
            let mut s = LogSummary::new(3600);
            for r in rows {
                s.add(r);
            }
            let views = s.user_views(&fit);
            let all: Vec<usize> = (0..views.len()).collect();
            format!("{:?}", s.moments(&views, &all, &fit))
        };
        let ordered = moments(&rows);
        // A fixed scramble: reversed, then every third row moved to the front.
        let mut scrambled: Vec<SignIn> = rows.iter().rev().cloned().collect();
        let (a, b): (Vec<_>, Vec<_>) = scrambled
            .drain(..)
            .enumerate()
            .partition(|(i, _)| i % 3 == 0);
        scrambled = a.into_iter().chain(b).map(|(_, r)| r).collect();
        assert_eq!(ordered, moments(&scrambled));
    }

    /// The moments of one log, with working days aligned as `calibrate` aligns them.
    fn aligned_moments(rows: &[SignIn]) -> Moments {
        let fit = FitOptions::default();
        let mut s = LogSummary::new(0);
        for r in rows {
            s.add(r);
        }
        s.align_days(&fit);
        let views = s.user_views(&fit);
        let all: Vec<usize> = (0..views.len()).collect();
        s.moments(&views, &all, &fit)
    }

    #[test]
    fn a_night_shift_is_one_working_day_and_a_day_shift_keeps_its_calendar_days() {
        const H: i64 = 3600;
        let mut night = Vec::new();
        for day in 20_000..20_010 {
            // 19:00 to 01:30 the next morning, a sign-in every half hour, some prompted.
            for k in 0..14 {
                night.push(sign_in(1, day, 19 * H + k * 1800, k == 0));
            }
        }
        let m = aligned_moments(&night);
        assert_eq!(m.user_days, 10, "one working day per shift, not two");
        // Where a calendar day is split, the working day's ends come from the middle of
        // their quarter hour.
        let slot = SLOT_SECONDS as f64;
        assert!((m.first.mean() - 19.0 * H as f64).abs() <= slot / 2.0);
        assert!((m.span.mean() - 6.5 * H as f64).abs() <= slot / 2.0);
        assert_eq!(m.prompts.iter().sum::<u64>(), 10, "prompts are kept");
        // Without alignment the same log is eleven calendar days, each but the first made
        // of one shift's end and the next one's start.
        let fit = FitOptions::default();
        let mut raw = LogSummary::new(0);
        night.iter().for_each(|r| raw.add(r));
        let views = raw.user_views(&fit);
        assert_eq!(raw.moments(&views, &[0], &fit).user_days, 11);
        // A day worker never active around midnight keeps calendar days, byte for byte.
        let day_rows: Vec<SignIn> = (20_000..20_010)
            .flat_map(|d| (0..10).map(move |k| sign_in(2, d, 8 * H + k * 3000, k == 3)))
            .collect();
        let aligned = format!("{:?}", aligned_moments(&day_rows));
        let mut plain = LogSummary::new(0);
        day_rows.iter().for_each(|r| plain.add(r));
        let views = plain.user_views(&fit);
        assert_eq!(aligned, format!("{:?}", plain.moments(&views, &[0], &fit)));
        // A day worker's one late sign-in joins the day it ends, not a day of its own.
        let mut late = day_rows.clone();
        late.push(sign_in(2, 20_004, 23 * H + 50 * 60, false));
        late.push(sign_in(2, 20_005, 10 * 60, false));
        let m = aligned_moments(&late);
        assert_eq!(m.user_days, 10);
        assert!((m.first.mean() - 8.0 * H as f64).abs() <= slot / 2.0);
    }

    #[test]
    fn an_app_that_renews_as_the_day_starts_is_background_sync() {
        const H: i64 = 3600;
        let mut rows = Vec::new();
        for user in 1..20u64 {
            for day in 20_000..20_010 {
                // One renewal of a long-lived token as the day starts...
                let mut r = sign_in(user, day, 7 * H, false);
                r.target = Target::App(App::Teams);
                r.client = Some(Client::Native);
                rows.push(r);
                // ... and a foreground app used through the day.
                for k in [1, 4, 8] {
                    let mut r = sign_in(user, day, 7 * H + k * H, false);
                    r.target = Target::App(App::Exchange);
                    r.client = Some(Client::Native);
                    rows.push(r);
                }
            }
        }
        let m = aligned_moments(&rows);
        let fit = FitOptions::default();
        assert!(m.leading_days[App::Teams.index()] > 0.99);
        assert!(m.leading_days[App::Exchange.index()] < 0.01);
        assert!(is_leading(&m, App::Teams.index(), &fit));
        assert!(!is_leading(&m, App::Exchange.index(), &fit));
        // An app used alone leads every day, which says nothing: it is not counted.
        let alone: Vec<SignIn> = rows
            .iter()
            .filter(|r| r.target == Target::App(App::Exchange))
            .cloned()
            .collect();
        let m = aligned_moments(&alone);
        assert!(!is_leading(&m, App::Exchange.index(), &fit));
    }
}
