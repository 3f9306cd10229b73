//! Shards: the projects of a manifest split into N balanced groups for N build jobs. Each
//! project weighs its last recorded build time (else an estimate); the heaviest go first, each
//! to the lightest shard so far (longest-processing-time first, within 4/3 of the best split),
//! ties broken by name and shard number, so the same projects and weights always give the same
//! shards. Recorded times change as builds finish, so a build job does not weigh the projects
//! again: the matrix hands each job `K/N@project=seconds,…`, the weights the plan used, and
//! `wrap build --shard` splits with those (a bare `K/N` weighs the projects as this machine sees
//! them, which matches the plan's only while no build time changes in between).

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// `K/N`, or `K/N@weights`: shard K (1-based) of N, split with the plan's weights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shard {
    /// Which shard, from 1.
    pub index: usize,
    /// How many.
    pub count: usize,
    /// The weights the plan split with, by project, in its order.
    pub weights: Option<Vec<(String, u64)>>,
}

impl FromStr for Shard {
    type Err = String;

    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || {
            format!(
                "`{}` is not a shard: write K/N, such as 2/3 (K from 1 to N, N at most 256), or pass the value `wrap plan --matrix` gave",
                crate::error::printable(s)
            )
        };
        let (spec, weights) = match s.split_once('@') {
            Some((spec, weights)) => (spec, Some(weights)),
            None => (s, None),
        };
        let (k, n) = spec.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
        if index == 0 || index > count || count > MAX_SHARDS {
            return Err(bad());
        }
        let weights = match weights {
            None => None,
            Some(list) => {
                let pair = |item: &str| -> Option<(String, u64)> {
                    let (name, seconds) = item.split_once('=')?;
                    let plain = !name.is_empty()
                        && name.len() <= 100
                        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c));
                    plain.then_some((name.to_string(), seconds.parse().ok()?))
                };
                Some(list.split(',').map(pair).collect::<Option<Vec<_>>>().ok_or_else(bad)?)
            }
        };
        Ok(Shard { index, count, weights })
    }
}

impl Shard {
    /// `K/N`, without the weights.
    pub fn label(&self) -> String {
        format!("{}/{}", self.index, self.count)
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)?;
        if let Some(weights) = &self.weights {
            let list: Vec<String> = weights.iter().map(|(p, s)| format!("{p}={s}")).collect();
            write!(f, "@{}", list.join(","))?;
        }
        Ok(())
    }
}

/// The most shards a matrix may have (GitHub Actions runs at most 256 jobs per matrix).
pub const MAX_SHARDS: usize = 256;

/// One project's weight: seconds, and where the figure comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, schemars::JsonSchema)]
pub struct Weight {
    /// The project.
    pub project: String,
    /// Seconds (whole, at least 1).
    pub seconds: u64,
    /// `recorded` (its last build, from the cache or the remote) or `estimated`.
    pub source: &'static str,
}

/// What a project with no recorded build is taken to cost: a fixed part (fetch, venv,
/// packaging) and a part per distribution of its locked closure (each is installed, relocated
/// and verified), from the offline example and the corpus's builds.
pub fn estimate(distributions: usize) -> u64 {
    10 + 2 * distributions as u64
}

/// Splits `weights` (in plan order) into `count` shards: each shard's projects in plan order.
pub fn assign(weights: &[Weight], count: usize) -> Vec<Vec<String>> {
    let count = count.max(1);
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        weights[b].seconds.cmp(&weights[a].seconds).then_with(|| weights[a].project.cmp(&weights[b].project))
    });
    let mut load = vec![0u64; count];
    let mut owner = vec![0usize; weights.len()];
    for i in order {
        let lightest = (0..count).min_by_key(|&s| (load[s], s)).expect("at least one shard");
        load[lightest] += weights[i].seconds.max(1);
        owner[i] = lightest;
    }
    (0..count)
        .map(|s| (0..weights.len()).filter(|&i| owner[i] == s).map(|i| weights[i].project.clone()).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(project: &str, seconds: u64) -> Weight {
        Weight { project: project.into(), seconds, source: "recorded" }
    }

    #[test]
    fn heaviest_first_to_the_lightest_shard() {
        let weights = [w("a", 10), w("b", 60), w("c", 30), w("d", 30), w("e", 5)];
        let shards = assign(&weights, 2);
        // b (60) alone, then c and d (30 each) on the other, a on the first, e on the second.
        assert_eq!(shards, vec![vec!["a".to_string(), "b".into()], vec!["c".into(), "d".into(), "e".into()]]);
        // Same inputs, same shards; more shards than projects leaves some empty.
        assert_eq!(assign(&weights, 2), shards);
        let many = assign(&weights[..2], 3);
        assert_eq!(many.iter().filter(|s| s.is_empty()).count(), 1);
        // Equal weights: split by name, every project exactly once.
        let even = assign(&[w("x", 1), w("y", 1), w("z", 1), w("v", 1)], 2);
        assert_eq!(even, vec![vec!["y".to_string(), "v".into()], vec!["x".into(), "z".into()]]);
    }

    #[test]
    fn shard_specs() {
        assert_eq!("2/3".parse::<Shard>(), Ok(Shard { index: 2, count: 3, weights: None }));
        assert_eq!(Shard { index: 2, count: 3, weights: None }.to_string(), "2/3");
        let with = "1/2@nova=300,oslo.config=12".parse::<Shard>().unwrap();
        assert_eq!(with.weights, Some(vec![("nova".into(), 300), ("oslo.config".into(), 12)]));
        assert_eq!(with.to_string(), "1/2@nova=300,oslo.config=12");
        assert_eq!(with.label(), "1/2");
        for bad in [
            "0/3",
            "4/3",
            "3",
            "a/b",
            "1/0",
            "1/257",
            "-1/2",
            "1/2@",
            "1/2@a",
            "1/2@a=x",
            "1/2@a b=1",
            "1/2@$(x)=1",
        ] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }
}
