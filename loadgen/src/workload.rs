//! What each request is. All distinct commands are encoded once, up front, into one buffer, so
//! sending a request costs a Zipf draw and a `memcpy` and the generator stays cheap next to the
//! server it measures on the same two cores.

use crate::countries::{mix_inventory, mix_recipient, Country};
use crate::zipf::{ZipfError, ZipfSampler};
use rand::Rng;

/// The command a run sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// `PICK <pool> <to>`: the real workload.
    Pick {
        /// Pool to pick from.
        pool: String,
    },
    /// `PING`: the protocol baseline, no selection work.
    Ping,
    /// `EVALSHA <sha> 0 <pool> <to>`: the same pick done by a Lua script in Redis (DESIGN §8 P3).
    /// No keys are declared because the script derives its keys from the recipient's country.
    EvalSha {
        /// SHA1 of the loaded script.
        sha: String,
        /// Pool id passed as the script's first argument.
        pool: String,
    },
}

impl Mode {
    /// Short name for reports.
    pub(crate) fn name(&self) -> &'static str {
        match self {
            Mode::Pick { .. } => "pick",
            Mode::Ping => "ping",
            Mode::EvalSha { .. } => "evalsha",
        }
    }

    /// The encoded command for recipient `to` (ignored by `Ping`).
    pub(crate) fn encode(&self, to: &str) -> Vec<u8> {
        match self {
            Mode::Pick { pool } => redis::cmd("PICK").arg(pool).arg(to).get_packed_command(),
            Mode::Ping => redis::cmd("PING").get_packed_command(),
            Mode::EvalSha { sha, pool } => redis::cmd("EVALSHA")
                .arg(sha)
                .arg(0)
                .arg(pool)
                .arg(to)
                .get_packed_command(),
        }
    }
}

/// Delivery receipts mixed into a pick run (DESIGN §3.4): a share of the requests are
/// `REPORT <sender> <to> <outcome>` for the recipient drawn, from a number of the seeded
/// inventory in the recipient's country, so receipt handling is measured beside the picks.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Receipts {
    /// The share of requests that are receipts, 0 to 1.
    pub share: f64,
    /// The size of the inventory the pool was seeded with (`--numbers`): senders come from it.
    pub inventory: u64,
}

impl Receipts {
    /// The receipt for recipient `i`: 90% delivered, 5% a sender failure (`failed`), 5% a
    /// recipient-side failure (`failed ERRCODE 2`, subscriber absent), fixed per recipient.
    fn encode(&self, mix: &[Country], i: u64) -> Vec<u8> {
        let countries = mix.len() as u64;
        // The inventory is interleaved over the mix like the recipients: number `j` is in
        // country `j % countries`, so `country + countries × k` is one in the recipient's.
        let country = i % countries;
        let in_country = self.inventory.saturating_sub(country).div_ceil(countries);
        let j = if in_country == 0 {
            i % self.inventory.max(1)
        } else {
            country + countries * ((i / countries) % in_country)
        };
        let (_, sender) = mix_inventory(mix, j);
        let mut report = redis::cmd("REPORT");
        report.arg(sender).arg(mix_recipient(mix, i));
        match i % 20 {
            7 => report.arg("failed"),
            13 => report.arg("failed").arg("ERRCODE").arg(2),
            _ => report.arg("delivered"),
        };
        report.get_packed_command()
    }
}

/// Distinct commands, encoded back to back.
#[derive(Debug, Default)]
struct Encoded {
    /// All encoded commands back to back.
    blob: Vec<u8>,
    /// End offset of command `i` in `blob` (command `i` starts where `i - 1` ends).
    ends: Vec<usize>,
}

impl Encoded {
    fn push(&mut self, command: &[u8]) {
        self.blob.extend_from_slice(command);
        self.ends.push(self.blob.len());
    }

    /// Encoded command `i`.
    fn command(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.blob[start..self.ends[i]]
    }
}

/// Every distinct request of a run, pre-encoded, and how to choose among them.
#[derive(Debug)]
pub struct Workload {
    /// One command per recipient (one in all for `Ping`).
    commands: Encoded,
    /// One receipt per recipient, and the share of requests that are receipts.
    receipts: Option<(Encoded, f64)>,
    /// Chooses a command index; `None` when there is only one command.
    sampler: Option<ZipfSampler>,
}

impl Workload {
    /// Commands for `recipients` recipients over `mix`, drawn with Zipf exponent `zipf_s`. `Ping`
    /// has a single command whatever the recipient count.
    pub fn new(
        mode: &Mode,
        mix: &[Country],
        recipients: u64,
        zipf_s: f64,
    ) -> Result<Self, ZipfError> {
        Self::with_receipts(mode, mix, recipients, zipf_s, None)
    }

    /// [`Workload::new`] with `receipts` mixed in when given.
    pub fn with_receipts(
        mode: &Mode,
        mix: &[Country],
        recipients: u64,
        zipf_s: f64,
        receipts: Option<Receipts>,
    ) -> Result<Self, ZipfError> {
        let mut commands = Encoded::default();
        if *mode == Mode::Ping {
            commands.push(&mode.encode(""));
            return Ok(Self {
                commands,
                receipts: None,
                sampler: None,
            });
        }
        let sampler = ZipfSampler::new(recipients, zipf_s)?;
        commands.ends.reserve(recipients as usize);
        for i in 0..recipients {
            commands.push(&mode.encode(&mix_recipient(mix, i)));
        }
        let receipts = receipts.filter(|r| r.share > 0.0).map(|r| {
            let mut encoded = Encoded::default();
            for i in 0..recipients {
                encoded.push(&r.encode(mix, i));
            }
            (encoded, r.share.min(1.0))
        });
        Ok(Self {
            commands,
            receipts,
            sampler: Some(sampler),
        })
    }

    /// Encoded command `i` (recipient `i`, the `i+1`-th most asked).
    pub(crate) fn command(&self, i: usize) -> &[u8] {
        self.commands.command(i)
    }

    /// How many distinct commands there are (one per recipient).
    pub(crate) fn len(&self) -> usize {
        self.commands.ends.len()
    }

    /// Appends one randomly chosen command (or, at the receipt share, its recipient's receipt)
    /// to `out`.
    pub(crate) fn append_next<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut Vec<u8>) {
        let i = match &self.sampler {
            Some(s) => s.sample(rng) as usize,
            None => 0,
        };
        let encoded = match &self.receipts {
            Some((receipts, share)) if rng.random_bool(*share) => receipts,
            _ => &self.commands,
        };
        out.extend_from_slice(encoded.command(i));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::countries::parse_mix;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn commands_are_the_right_resp_frames() {
        let mix = parse_mix("GB,US").unwrap();
        let pick = Workload::new(&Mode::Pick { pool: "p1".into() }, &mix, 3, 1.0).unwrap();
        assert_eq!(pick.commands.ends.len(), 3);
        let to = mix_recipient(&mix, 1);
        let expected = format!("*3\r\n$4\r\nPICK\r\n$2\r\np1\r\n${}\r\n{to}\r\n", to.len());
        assert_eq!(pick.command(1), expected.as_bytes());

        let eval = Mode::EvalSha {
            sha: "abc".into(),
            pool: "p1".into(),
        }
        .encode("4474");
        assert_eq!(
            eval,
            b"*5\r\n$7\r\nEVALSHA\r\n$3\r\nabc\r\n$1\r\n0\r\n$2\r\np1\r\n$4\r\n4474\r\n"
        );

        let ping = Workload::new(&Mode::Ping, &mix, 1_000, 1.0).unwrap();
        assert_eq!(ping.commands.ends.len(), 1);
        let mut out = Vec::new();
        ping.append_next(&mut StdRng::seed_from_u64(1), &mut out);
        assert_eq!(out, b"*1\r\n$4\r\nPING\r\n");
    }

    #[test]
    fn appended_commands_come_from_the_set() {
        let mix = parse_mix("DE").unwrap();
        let w = Workload::new(&Mode::Pick { pool: "p".into() }, &mix, 50, 1.0).unwrap();
        let mut rng = StdRng::seed_from_u64(3);
        for _ in 0..200 {
            let mut out = Vec::new();
            w.append_next(&mut rng, &mut out);
            assert!((0..w.commands.ends.len()).any(|i| w.command(i) == out.as_slice()));
        }
    }

    #[test]
    fn receipts_come_at_their_share_from_a_sender_of_the_recipients_country() {
        let mix = parse_mix("GB,US").unwrap();
        let receipts = Receipts {
            share: 0.3,
            inventory: 10,
        };
        let w = Workload::with_receipts(
            &Mode::Pick { pool: "p".into() },
            &mix,
            100,
            0.0,
            Some(receipts),
        )
        .unwrap();
        let mut rng = StdRng::seed_from_u64(5);
        let mut reports = 0;
        for _ in 0..10_000 {
            let mut out = Vec::new();
            w.append_next(&mut rng, &mut out);
            if out.starts_with(b"*4\r\n$6\r\nREPORT") || out.starts_with(b"*6\r\n$6\r\nREPORT") {
                reports += 1;
            } else {
                assert!(out.starts_with(b"*3\r\n$4\r\nPICK"));
            }
        }
        assert!((2_700..3_300).contains(&reports), "{reports} of 10,000");
        // Recipient 3 is in the US (the mix alternates): its sender is a US inventory number,
        // number 3 of the interleaved inventory (1 + 2 × (3 / 2)).
        let report = receipts.encode(&mix, 3);
        let sender = mix_inventory(&mix, 3).1;
        let expected = redis::cmd("REPORT")
            .arg(&sender)
            .arg(mix_recipient(&mix, 3))
            .arg("delivered")
            .get_packed_command();
        assert_eq!(report, expected);
        assert!(sender.starts_with('1'), "{sender}");
        let failed = String::from_utf8(receipts.encode(&mix, 13)).unwrap();
        assert!(
            failed.ends_with("$6\r\nfailed\r\n$7\r\nERRCODE\r\n$1\r\n2\r\n"),
            "{failed}"
        );
    }
}
