//! The per-user event queue.
//!
//! Events are ordered by the key `(time, insertion sequence)`: earlier time first, and among
//! events at the same second, the one scheduled first pops first (FIFO). That total order is
//! what makes a simulation replay identically: no tie is ever broken by a hash or an address.
//!
//! Each simulated user owns one small queue, reused between users ([`EventQueue::clear`])
//! so allocation stays off the hot path. It has two parts that pop as one: a day's plan,
//! scheduled at once ([`EventQueue::schedule_batch`]), is sorted and kept in a `Vec` popped
//! from its end; events scheduled one at a time while the day runs (checks, activity ends)
//! go to a binary heap, which then stays small (about a dozen entries). Sorting a plan once
//! costs less than heaping it event by event; a single sorted `Vec` for everything measured
//! no faster than this split.
//!
//! Cancellation is lazy: [`EventQueue::cancel`] records a tombstone and the event is dropped
//! when it reaches the front, instead of searching the heap. The model also uses generation
//! counters for the same purpose (a token-expiry event whose token was replaced is stale).

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use crate::engine::time::{Duration, SimTime};

/// Identifies one scheduled event, for cancellation. It is the event's insertion sequence.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(u64);

/// Where an event stands in the queue's order: its time, then its insertion sequence.
/// [`EventQueue::reserve`] hands one out for an event the caller keeps aside (and applies
/// itself when the queue's front passes it), so that it is ordered exactly as if it had
/// been queued.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct OrderKey(u64);

impl OrderKey {
    /// After every event.
    pub const LAST: OrderKey = OrderKey(u64::MAX);

    /// The time of the event this key orders.
    pub fn at(self) -> SimTime {
        SimTime::from_secs(self.0 >> 32)
    }

    /// A key before every event at `at` or later, and after every earlier event.
    pub fn first_at(at: SimTime) -> OrderKey {
        if at.as_secs() > MAX_AT {
            OrderKey::LAST
        } else {
            OrderKey(at.as_secs() << 32)
        }
    }
}

/// Misuse of the queue, reported as a value rather than a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    #[error("cannot schedule an event at {at} before the current time {now}")]
    InPast { at: SimTime, now: SimTime },
    #[error("cannot schedule an event at the end of time")]
    AtNever,
    /// Beyond what the packed key holds: 2^32 s (136 years) of simulated time, or 2^32
    /// events scheduled on one queue. Runs are bounded far below both (3,650 days).
    #[error("cannot schedule an event at {at}: beyond the queue's range")]
    OutOfRange { at: SimTime },
}

/// The latest time and the most events a queue can hold in its packed key.
const MAX_AT: u64 = u32::MAX as u64;
const MAX_SEQ: u64 = u32::MAX as u64;
// Inputs are bounded to 100 years (`time::MAX_SECONDS`): what is scheduled from them, up to
// a few years later (token and session lifetimes, the attacker's window), fits.
const _: () =
    assert!(crate::engine::time::MAX_SECONDS + 10 * 366 * crate::engine::time::DAY < MAX_AT);

/// A queued event with its order key `(time, sequence)` packed in one `u64`: time in the
/// high 32 bits, sequence in the low 32. Comparing keys is one instruction, and an entry
/// is 8 bytes smaller than with two `u64`s — entries are moved on every heap operation.
#[derive(Clone)]
struct Entry<E> {
    key: u64,
    event: E,
}

/// Why an event at `at` cannot be scheduled when the queue is at `now`, whatever the
/// sequences left: in the past, at the end of time, or beyond the key's range.
#[inline]
fn refusal(at: SimTime, now: SimTime) -> Option<ScheduleError> {
    if at < now {
        Some(ScheduleError::InPast { at, now })
    } else if at == SimTime::NEVER {
        Some(ScheduleError::AtNever)
    } else if at.as_secs() > MAX_AT {
        Some(ScheduleError::OutOfRange { at })
    } else {
        None
    }
}

/// The packed order key of an event at `at` with sequence `seq` (both within range).
#[inline]
fn pack(at: SimTime, seq: u64) -> u64 {
    debug_assert!(at.as_secs() <= MAX_AT && seq <= MAX_SEQ);
    (at.as_secs() << 32) | seq
}

impl<E> Entry<E> {
    #[inline]
    fn new(at: SimTime, seq: u64, event: E) -> Self {
        Entry {
            key: pack(at, seq),
            event,
        }
    }

    #[inline]
    fn key(&self) -> u64 {
        self.key
    }

    #[inline]
    fn at(&self) -> SimTime {
        SimTime::from_secs(self.key >> 32)
    }

    #[inline]
    fn seq(&self) -> u64 {
        self.key & MAX_SEQ
    }
}

impl<E> PartialEq for Entry<E> {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl<E> Eq for Entry<E> {}
impl<E> PartialOrd for Entry<E> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl<E> Ord for Entry<E> {
    /// Reversed, because `BinaryHeap` is a max-heap and we pop the smallest key.
    fn cmp(&self, other: &Self) -> Ordering {
        other.key().cmp(&self.key())
    }
}

/// A priority queue of events keyed by `(time, insertion sequence)`.
///
/// The queue keeps the current time: the time of the last event popped. Scheduling before it
/// is an error, so simulated time can never go backwards. A clone continues independently
/// from the same state (following a theft in a copy of a user's timeline).
#[derive(Clone)]
pub struct EventQueue<E> {
    heap: BinaryHeap<Entry<E>>,
    /// Events scheduled together ([`EventQueue::schedule_batch`], a user's day plan), kept
    /// sorted latest first so the earliest pops from the end in O(1). The heap then holds
    /// only the few events scheduled one by one while the day runs, which makes its pops
    /// cheap; both sources pop in the same (time, sequence) order as one heap would.
    batch: Vec<Entry<E>>,
    /// Reused buffers of [`EventQueue::schedule_staged`]: the new events' keys sorted, and
    /// the waiting entries they interleave with.
    key_scratch: Vec<u64>,
    tail_scratch: Vec<Entry<E>>,
    next_seq: u64,
    now: SimTime,
    /// Tombstones of cancelled events still in the heap. Few at a time, so a Vec beats a set.
    cancelled: Vec<u64>,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E> EventQueue<E> {
    pub fn new() -> Self {
        EventQueue {
            heap: BinaryHeap::new(),
            batch: Vec::new(),
            key_scratch: Vec::new(),
            tail_scratch: Vec::new(),
            next_seq: 0,
            now: SimTime::ZERO,
            cancelled: Vec::new(),
        }
    }

    /// Every waiting event with its time, in no particular order (cancelled ones too).
    pub fn waiting(&self) -> impl Iterator<Item = (SimTime, &E)> {
        self.heap
            .iter()
            .chain(&self.batch)
            .map(|e| (e.at(), &e.event))
    }

    /// Keeps only the events `keep` accepts; the others never pop. The kept events keep
    /// their order.
    pub fn retain(&mut self, mut keep: impl FnMut(&E) -> bool) {
        self.heap.retain(|e| keep(&e.event));
        self.batch.retain(|e| keep(&e.event));
    }

    /// Empties the queue and resets the clock to zero, keeping the allocation for the next
    /// user.
    pub fn clear(&mut self) {
        self.heap.clear();
        self.batch.clear();
        self.cancelled.clear();
        self.next_seq = 0;
        self.now = SimTime::ZERO;
    }

    /// The current time: the time of the last popped event (zero before the first pop).
    pub fn now(&self) -> SimTime {
        self.now
    }

    /// Schedules `event` at absolute time `at`, which must not be before [`Self::now`].
    pub fn schedule_at(&mut self, at: SimTime, event: E) -> Result<EventId, ScheduleError> {
        let seq = self.next_seq_for(at)?;
        self.heap.push(Entry::new(at, seq, event));
        Ok(EventId(seq))
    }

    /// Takes the next insertion sequence for an event at `at`, or says why it cannot be
    /// scheduled (then no sequence is used).
    fn next_seq_for(&mut self, at: SimTime) -> Result<u64, ScheduleError> {
        if let Some(refused) = refusal(at, self.now) {
            return Err(refused);
        }
        if self.next_seq > MAX_SEQ {
            return Err(ScheduleError::OutOfRange { at });
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        Ok(seq)
    }

    /// The place an event at `at` would take if it were scheduled now, without queueing it:
    /// for events the caller keeps aside and applies once [`EventQueue::pop_keyed_before`]
    /// returns a later key (or a run ends past it). The same checks as
    /// [`EventQueue::schedule_at`].
    pub fn reserve(&mut self, at: SimTime) -> Result<OrderKey, ScheduleError> {
        let seq = self.next_seq_for(at)?;
        Ok(OrderKey(pack(at, seq)))
    }

    /// Schedules many events at once, in the order given: the same sequence numbers, and so
    /// the same order among equal times, as calling [`EventQueue::schedule_at`] for each.
    /// Events in the past, at the end of time or beyond the key's range are dropped (as
    /// `schedule_at` refuses them); returns how many were dropped. Stages the events in a
    /// new vector: a caller that stages its own, reused, calls
    /// [`EventQueue::schedule_staged`].
    pub fn schedule_batch(&mut self, events: impl IntoIterator<Item = (SimTime, E)>) -> usize
    where
        E: Clone,
    {
        let mut staged: Vec<(SimTime, E)> = events.into_iter().collect();
        self.schedule_staged(&mut staged, |e| e)
    }

    /// [`EventQueue::schedule_batch`] for events staged by the caller, each made an event
    /// by `wrap`: the staging vector is sorted by reference, so events are copied once,
    /// into place (a day's plan, rebuilt every day). Drains `staged`.
    pub fn schedule_staged<A: Clone>(
        &mut self,
        staged: &mut Vec<(SimTime, A)>,
        wrap: impl Fn(A) -> E,
    ) -> usize
    where
        E: Clone,
    {
        // What `schedule_at` refuses is dropped first: whether an event is refused depends
        // on its time alone, and on the sequences left, so the rest take consecutive
        // sequences, in the order given, as they would one by one.
        let given = staged.len();
        let now = self.now;
        // Usually none is refused: checking costs less than `retain`'s moves.
        if staged.iter().any(|(at, _)| refusal(*at, now).is_some()) {
            staged.retain(|(at, _)| refusal(*at, now).is_none());
        }
        let sequences_left = (MAX_SEQ + 1).saturating_sub(self.next_seq);
        staged.truncate(usize::try_from(sequences_left).unwrap_or(usize::MAX));
        let dropped = given - staged.len();
        let first_seq = self.next_seq;
        self.next_seq += staged.len() as u64;
        // Sort the bare keys, not the entries: a u64 sort is several times cheaper, and a
        // key's sequence says where its event is staged. Keys are unique, so an unstable
        // sort is deterministic.
        self.key_scratch.clear();
        self.key_scratch.extend(
            (staged.iter().enumerate()).map(|(i, (at, _))| pack(*at, first_seq + i as u64)),
        );
        self.key_scratch.sort_unstable();
        let Some(&latest) = self.key_scratch.last() else {
            return dropped;
        };
        // The batch is kept latest first. The waiting entries earlier than the latest new
        // one are at its end (a day's plan mostly comes before everything still waiting, so
        // they are few): set them aside, then push both, latest first.
        let split = self.batch.partition_point(|e| e.key() > latest);
        self.tail_scratch.clear();
        self.tail_scratch.extend(self.batch.drain(split..));
        self.batch
            .reserve(self.key_scratch.len() + self.tail_scratch.len());
        let mut w = 0;
        for &key in self.key_scratch.iter().rev() {
            while w < self.tail_scratch.len() && self.tail_scratch[w].key() > key {
                self.batch.push(self.tail_scratch[w].clone());
                w += 1;
            }
            let event = staged[((key & MAX_SEQ) - first_seq) as usize].1.clone();
            self.batch.push(Entry {
                key,
                event: wrap(event),
            });
        }
        self.batch.extend_from_slice(&self.tail_scratch[w..]);
        staged.clear();
        dropped
    }

    /// Whether the earliest entry is the batch's (else the heap's, if any).
    fn batch_first(&self) -> Option<bool> {
        match (self.heap.peek(), self.batch.last()) {
            (Some(h), Some(b)) => Some(b.key() < h.key()),
            (Some(_), None) => Some(false),
            (None, Some(_)) => Some(true),
            (None, None) => None,
        }
    }

    fn take_first(&mut self) -> Option<Entry<E>> {
        match self.batch_first()? {
            true => self.batch.pop(),
            false => self.heap.pop(),
        }
    }

    fn first(&self) -> Option<&Entry<E>> {
        match self.batch_first()? {
            true => self.batch.last(),
            false => self.heap.peek(),
        }
    }

    /// Schedules `event` a duration after the current time.
    pub fn schedule_in(&mut self, delay: Duration, event: E) -> Result<EventId, ScheduleError> {
        self.schedule_at(self.now + delay, event)
    }

    /// Marks a scheduled event dead. Cancelling an event that already popped, or twice, does
    /// nothing.
    pub fn cancel(&mut self, id: EventId) {
        if id.0 < self.next_seq && !self.cancelled.contains(&id.0) {
            // Only remember tombstones for events that may still be queued.
            if self.heap.iter().chain(&self.batch).any(|e| e.seq() == id.0) {
                self.cancelled.push(id.0);
            }
        }
    }

    /// Removes and returns the next live event, advancing the current time to it.
    pub fn pop(&mut self) -> Option<(SimTime, E)> {
        // No entry is at the end of time (`schedule_at` refuses it).
        self.pop_before(SimTime::NEVER)
    }

    /// Removes and returns the next live event if it is before `end` (a run's horizon),
    /// advancing the current time to it: [`EventQueue::peek_time`] and a pop in one look
    /// at the front.
    pub fn pop_before(&mut self, end: SimTime) -> Option<(SimTime, E)> {
        self.pop_keyed_before(end)
            .map(|(key, event)| (key.at(), event))
    }

    /// [`EventQueue::pop_before`], returning the event's place in the order (to apply the
    /// events reserved with [`EventQueue::reserve`] that come before it).
    // Called for every event; inlined by force, as LLVM keeps it out of line even with fat
    // LTO, where `#[inline]` changes nothing (docs/performance.md, "tenth session").
    #[inline(always)]
    pub fn pop_keyed_before(&mut self, end: SimTime) -> Option<(OrderKey, E)> {
        loop {
            let from_batch = self.batch_first()?;
            let front = if from_batch {
                self.batch.last()
            } else {
                self.heap.peek()
            }?;
            if front.at() >= end {
                return None;
            }
            let entry = if from_batch {
                self.batch.pop()
            } else {
                self.heap.pop()
            }?;
            if !self.cancelled.is_empty() {
                if let Some(i) = self.cancelled.iter().position(|s| *s == entry.seq()) {
                    self.cancelled.swap_remove(i);
                    continue;
                }
            }
            self.now = entry.at();
            return Some((OrderKey(entry.key), entry.event));
        }
    }

    /// The time of the next live event, without removing it.
    pub fn peek_time(&mut self) -> Option<SimTime> {
        // Drop dead entries at the front so the answer is a live event's time.
        while let Some(top) = self.first() {
            if let Some(i) = self.cancelled.iter().position(|s| *s == top.seq()) {
                self.cancelled.swap_remove(i);
                self.take_first();
            } else {
                return Some(top.at());
            }
        }
        None
    }

    /// Number of live events.
    pub fn len(&self) -> usize {
        self.heap.len() + self.batch.len() - self.cancelled.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn beyond_the_packed_range_is_an_error_not_a_wrong_order() {
        let mut q = EventQueue::new();
        let last = SimTime::from_secs(MAX_AT);
        let beyond = SimTime::from_secs(MAX_AT + 1);
        assert_eq!(
            q.schedule_at(beyond, 'x'),
            Err(ScheduleError::OutOfRange { at: beyond })
        );
        assert_eq!(q.schedule_batch([(beyond, 'y'), (last, 'z')]), 1);
        q.schedule_at(SimTime::from_secs(1), 'a').unwrap();
        assert_eq!(q.pop(), Some((SimTime::from_secs(1), 'a')));
        assert_eq!(q.pop(), Some((last, 'z')));
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn equal_times_pop_in_insertion_order() {
        let mut q = EventQueue::new();
        for i in 0..10 {
            q.schedule_at(SimTime::from_secs(5), i).unwrap();
        }
        q.schedule_at(SimTime::from_secs(1), 100).unwrap();
        assert_eq!(q.pop(), Some((SimTime::from_secs(1), 100)));
        for i in 0..10 {
            assert_eq!(q.pop(), Some((SimTime::from_secs(5), i)));
        }
        assert_eq!(q.pop(), None);
    }

    #[test]
    fn scheduling_in_the_past_is_an_error() {
        let mut q = EventQueue::new();
        q.schedule_at(SimTime::from_secs(10), ()).unwrap();
        q.pop();
        assert_eq!(
            q.schedule_at(SimTime::from_secs(9), ()),
            Err(ScheduleError::InPast {
                at: SimTime::from_secs(9),
                now: SimTime::from_secs(10)
            })
        );
        assert!(q.schedule_at(SimTime::from_secs(10), ()).is_ok());
        assert_eq!(
            q.schedule_at(SimTime::NEVER, ()),
            Err(ScheduleError::AtNever)
        );
    }

    #[test]
    fn cancelled_events_never_pop() {
        let mut q = EventQueue::new();
        let a = q.schedule_at(SimTime::from_secs(1), 'a').unwrap();
        q.schedule_at(SimTime::from_secs(2), 'b').unwrap();
        q.cancel(a);
        q.cancel(a);
        assert_eq!(q.len(), 1);
        assert_eq!(q.peek_time(), Some(SimTime::from_secs(2)));
        assert_eq!(q.pop(), Some((SimTime::from_secs(2), 'b')));
        assert!(q.is_empty());
        // Cancelling an event that already popped leaves no stray tombstone behind.
        let c = q.schedule_in(Duration::from_secs(1), 'c').unwrap();
        assert_eq!(q.pop(), Some((SimTime::from_secs(3), 'c')));
        q.cancel(c);
        assert_eq!(q.len(), 0);
    }

    #[test]
    fn a_reserved_key_orders_like_a_scheduled_event() {
        let mut q = EventQueue::new();
        let t = SimTime::from_secs(5);
        q.schedule_at(t, 'a').unwrap();
        let reserved = q.reserve(t).unwrap();
        q.schedule_at(t, 'b').unwrap();
        q.schedule_at(SimTime::from_secs(4), 'c').unwrap();
        let keys: Vec<(OrderKey, char)> =
            std::iter::from_fn(|| q.pop_keyed_before(SimTime::NEVER)).collect();
        assert_eq!(keys.iter().map(|k| k.1).collect::<String>(), "cab");
        assert!(keys[0].0 < reserved && keys[1].0 < reserved && reserved < keys[2].0);
        assert_eq!(reserved.at(), t);
        // A key at a time comes before every event at that time and after every earlier one.
        assert!(keys[0].0 < OrderKey::first_at(t) && OrderKey::first_at(t) <= keys[1].0);
        assert!(keys[2].0 < OrderKey::first_at(SimTime::NEVER));
        // A reservation that cannot be scheduled uses no sequence number.
        assert_eq!(
            q.reserve(SimTime::from_secs(1)),
            Err(ScheduleError::InPast {
                at: SimTime::from_secs(1),
                now: t
            })
        );
        assert_eq!(q.reserve(SimTime::NEVER), Err(ScheduleError::AtNever));
        let next = q.reserve(t).unwrap();
        assert_eq!(next.0 & MAX_SEQ, (reserved.0 & MAX_SEQ) + 3);
    }
}
