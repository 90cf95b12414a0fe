//! What each request is. All distinct commands are encoded once, up front, into one buffer, so
//! sending a request costs a Zipf draw and a `memcpy` and the generator stays cheap next to the
//! server it measures on the same two cores.

use crate::countries::{mix_recipient, Country};
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

/// Every distinct request of a run, pre-encoded, and how to choose among them.
#[derive(Debug)]
pub struct Workload {
    /// All encoded commands back to back.
    blob: Vec<u8>,
    /// End offset of command `i` in `blob` (command `i` starts where `i - 1` ends).
    ends: Vec<usize>,
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
        if *mode == Mode::Ping {
            let blob = mode.encode("");
            return Ok(Self {
                ends: vec![blob.len()],
                blob,
                sampler: None,
            });
        }
        let sampler = ZipfSampler::new(recipients, zipf_s)?;
        let mut blob = Vec::new();
        let mut ends = Vec::with_capacity(recipients as usize);
        for i in 0..recipients {
            blob.extend_from_slice(&mode.encode(&mix_recipient(mix, i)));
            ends.push(blob.len());
        }
        Ok(Self {
            blob,
            ends,
            sampler: Some(sampler),
        })
    }

    /// Encoded command `i`.
    pub(crate) fn command(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.blob[start..self.ends[i]]
    }

    /// Appends one randomly chosen command to `out`.
    pub(crate) fn append_next<R: Rng + ?Sized>(&self, rng: &mut R, out: &mut Vec<u8>) {
        let i = match &self.sampler {
            Some(s) => s.sample(rng) as usize,
            None => 0,
        };
        out.extend_from_slice(self.command(i));
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
        assert_eq!(pick.ends.len(), 3);
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
        assert_eq!(ping.ends.len(), 1);
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
            assert!((0..w.ends.len()).any(|i| w.command(i) == out.as_slice()));
        }
    }
}
