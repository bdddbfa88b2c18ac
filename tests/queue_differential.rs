//! The event queue against a `BTreeMap<(time, seq), _>` shadow, driven by a fixed-seed
//! stream of random operations: schedule, cancel, pop and peek.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sessionsim::engine::queue::{EventId, EventQueue, ScheduleError};
use sessionsim::engine::time::SimTime;

#[test]
fn queue_matches_a_btreemap_shadow_over_200k_operations() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5e55_1011);
    let mut queue: EventQueue<u64> = EventQueue::new();
    // Shadow: (time, seq) -> payload. The seq is the queue's insertion order, so the
    // shadow's iteration order is exactly the order the queue must pop in.
    let mut shadow: BTreeMap<(u64, u64), u64> = BTreeMap::new();
    let mut ids: Vec<(EventId, (u64, u64))> = Vec::new();
    let mut seq = 0u64;
    let mut now = 0u64;
    let mut pops = 0usize;
    for op in 0..200_000u64 {
        match rng.random_range(0..100) {
            // Schedule, often at equal times to exercise FIFO ties.
            0..=49 => {
                let at = now + rng.random_range(0..20u64);
                let id = queue
                    .schedule_at(SimTime::from_secs(at), op)
                    .expect("not in the past");
                shadow.insert((at, seq), op);
                ids.push((id, (at, seq)));
                seq += 1;
            }
            // Scheduling in the past must fail and change nothing.
            50..=54 if now > 0 => {
                let at = now - 1;
                assert_eq!(
                    queue.schedule_at(SimTime::from_secs(at), op),
                    Err(ScheduleError::InPast {
                        at: SimTime::from_secs(at),
                        now: SimTime::from_secs(now)
                    })
                );
            }
            // Cancel a random known event (it may already have popped).
            55..=64 if !ids.is_empty() => {
                let i = rng.random_range(0..ids.len());
                let (id, key) = ids.swap_remove(i);
                queue.cancel(id);
                shadow.remove(&key);
            }
            // A batch (a day plan): same order as scheduling each in turn; events in
            // the past are dropped.
            65..=67 => {
                let n = rng.random_range(0..6u64);
                let mut batch = Vec::new();
                let mut past = 0;
                for k in 0..n {
                    let at = if now > 0 && rng.random_range(0..8) == 0 {
                        past += 1;
                        now - 1
                    } else {
                        now + rng.random_range(0..20u64)
                    };
                    batch.push((SimTime::from_secs(at), op * 8 + k));
                }
                for (at, p) in &batch {
                    if at.as_secs() >= now {
                        shadow.insert((at.as_secs(), seq), *p);
                        seq += 1;
                    }
                }
                assert_eq!(queue.schedule_batch(batch), past, "dropped at op {op}");
            }
            68..=69 => {
                let expect = shadow.keys().next().map(|(t, _)| SimTime::from_secs(*t));
                assert_eq!(queue.peek_time(), expect, "peek at op {op}");
            }
            // Pop only before a horizon, as a run does.
            70..=77 => {
                let end = now + rng.random_range(0..10u64);
                let expect = match shadow.first_key_value() {
                    Some((&(t, _), _)) if t < end => shadow.pop_first(),
                    _ => None,
                };
                let got = queue.pop_before(SimTime::from_secs(end));
                match (expect, got) {
                    (None, None) => {}
                    (Some(((t, _), payload)), Some((at, p))) => {
                        assert_eq!((at.as_secs(), p), (t, payload), "pop_before at op {op}");
                        now = t;
                        pops += 1;
                    }
                    (e, g) => panic!("op {op}: shadow {e:?} vs queue {g:?} before {end}"),
                }
            }
            _ => {
                let expect = shadow.pop_first();
                let got = queue.pop();
                match (expect, got) {
                    (None, None) => {}
                    (Some(((t, _), payload)), Some((at, p))) => {
                        assert_eq!((at.as_secs(), p), (t, payload), "pop at op {op}");
                        assert!(t >= now, "time went backwards at op {op}");
                        now = t;
                        pops += 1;
                    }
                    (e, g) => panic!("op {op}: shadow {e:?} vs queue {g:?}"),
                }
            }
        }
        assert_eq!(queue.len(), shadow.len(), "length at op {op}");
        assert_eq!(queue.now().as_secs(), now);
    }
    assert!(pops > 40_000, "the run exercised popping ({pops} pops)");
    // Drain: the rest comes out in shadow order.
    while let Some(((t, _), payload)) = shadow.pop_first() {
        assert_eq!(
            queue.pop().map(|(a, p)| (a.as_secs(), p)),
            Some((t, payload))
        );
    }
    assert_eq!(queue.pop(), None);
}
