//! Property: whatever sequence of appends and snapshots ran, and wherever the last journal was cut
//! (a crash tearing its tail), recovery yields exactly the records that were wholly on disk: a
//! prefix of everything appended, never less than the last snapshot, never a reordering.

use std::fs;
use std::path::Path;

use numpool_snapshots::{
    encode_payload, journal_path, recover, write_snapshot, Journal, Recovered, JOURNAL_HEADER_LEN,
    RECORD_HEADER_LEN,
};
use proptest::prelude::*;

type State = Vec<Vec<u8>>;
type Rec = Vec<u8>;

#[derive(Debug, Clone)]
enum Op {
    Append(Rec),
    Snapshot,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(Op::Append),
        1 => Just(Op::Snapshot),
    ]
}

fn state_of(r: &Recovered<State, Rec>) -> State {
    let mut s = r.snapshot.clone().unwrap_or_default();
    s.extend(r.records.iter().cloned());
    s
}

/// Runs `ops` from a fresh start; returns every record appended, the count covered by the last
/// snapshot, and the current journal's records (in order).
fn run(dir: &Path, ops: &[Op]) -> (State, usize, State, u64) {
    let r = recover::<State, Rec>(dir).unwrap();
    let (mut journal, mut seq) = (r.journal, r.seq);
    let mut all = State::new();
    let mut in_snapshot = 0;
    let mut current = State::new();
    for op in ops {
        match op {
            Op::Append(rec) => {
                journal.append(rec).unwrap();
                all.push(rec.clone());
                current.push(rec.clone());
            }
            Op::Snapshot => {
                journal.sync().unwrap();
                seq += 1;
                // The engine's order: the new generation's journal, then its snapshot.
                journal = Journal::create(dir, seq).unwrap();
                write_snapshot(dir, seq, &all).unwrap();
                in_snapshot = all.len();
                current.clear();
            }
        }
    }
    journal.sync().unwrap();
    (all, in_snapshot, current, seq)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn any_appends_and_truncation_recover_a_prefix(
        ops in proptest::collection::vec(op(), 0..40),
        cut_fraction in 0.0f64..=1.0,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let (all, in_snapshot, current, seq) = run(d, &ops);

        // Tear the last journal at a random offset: anywhere for the genesis journal, after its
        // header once its snapshot exists (which is written only after the header was synced).
        let path = journal_path(d, seq);
        let len = fs::metadata(&path).unwrap().len();
        let min = if seq == 0 { 0 } else { JOURNAL_HEADER_LEN as u64 };
        let cut = min + ((len - min) as f64 * cut_fraction) as u64;
        fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(cut).unwrap();

        // Exactly the records that end at or before the cut survive.
        let mut end = JOURNAL_HEADER_LEN as u64;
        let mut survivors = 0;
        for rec in &current {
            end += (RECORD_HEADER_LEN + encode_payload(rec).unwrap().len()) as u64;
            if end > cut {
                break;
            }
            survivors += 1;
        }

        let r = recover::<State, Rec>(d).unwrap();
        prop_assert_eq!(r.seq, seq);
        let got = state_of(&r);
        prop_assert_eq!(got.len(), in_snapshot + survivors);
        prop_assert_eq!(&got[..], &all[..got.len()]);

        // Appending after recovery continues cleanly after the surviving prefix.
        let mut j = r.journal;
        j.append(&vec![0xABu8]).unwrap();
        j.sync().unwrap();
        drop((j, r.lock));
        let again = state_of(&recover::<State, Rec>(d).unwrap());
        prop_assert_eq!(again.len(), got.len() + 1);
        prop_assert_eq!(&again[..got.len()], &got[..]);
        prop_assert_eq!(&again[got.len()], &vec![0xABu8]);
    }
}
