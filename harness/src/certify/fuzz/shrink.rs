//! Shrinking a failing plan: delta debugging (Zeller's ddmin) over the variations applied, then each variation left
//! made simpler (one change of several, a burst of one) while the client still fails. Every trial is a run of the
//! client; the caller bounds them.

use std::collections::HashMap;

use super::plan::{Pick, Plan};

/// What one trial told: the client failed as it first did, passed, or the budget ran out before it could run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trial {
    Fails,
    Passes,
    OutOfBudget,
}

/// The smallest set of picks found that still fails, and whether shrinking finished (not stopped by the budget).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shrunk {
    pub picks: Vec<Pick>,
    pub finished: bool,
}

/// Runs `trial` on subsets of `picks` (which fail) and returns the smallest failing one found.
pub async fn shrink(plan: &Plan, picks: Vec<Pick>, mut trial: impl AsyncFnMut(&[Pick]) -> Trial) -> Shrunk {
    let mut seen: HashMap<Vec<Pick>, Trial> = HashMap::new();
    let mut finished = true;
    // The same subset is never run twice.
    let mut test = async |subset: &[Pick], finished: &mut bool| -> bool {
        if let Some(known) = seen.get(subset) {
            return *known == Trial::Fails;
        }
        let result = trial(subset).await;
        if result == Trial::OutOfBudget {
            *finished = false;
            return false;
        }
        seen.insert(subset.to_vec(), result);
        result == Trial::Fails
    };

    // ddmin: try each chunk alone, then each complement; on no progress, cut finer.
    let mut current = picks;
    let mut chunks = 2;
    while current.len() >= 2 && finished {
        let parts = split(&current, chunks);
        let mut progressed = false;
        for part in &parts {
            if test(part, &mut finished).await {
                current = part.clone();
                chunks = 2;
                progressed = true;
                break;
            }
        }
        if !progressed && parts.len() > 2 {
            for i in 0..parts.len() {
                let complement: Vec<Pick> =
                    parts.iter().enumerate().filter(|(j, _)| *j != i).flat_map(|(_, p)| p.iter().cloned()).collect();
                if test(&complement, &mut finished).await {
                    current = complement;
                    chunks = (chunks - 1).max(2);
                    progressed = true;
                    break;
                }
            }
        }
        if !progressed {
            if chunks >= current.len() {
                break;
            }
            chunks = (chunks * 2).min(current.len());
        }
    }

    // Then each pick made simpler while it still fails.
    for index in 0..current.len() {
        loop {
            let Some(variation) = plan.get(current[index].id) else { break };
            let answer = current[index].answer.clone().unwrap_or_else(|| variation.answer.clone());
            let mut simplified = false;
            for simpler in answer.simpler() {
                let mut candidate = current.clone();
                candidate[index] = Pick { id: current[index].id, answer: Some(simpler) };
                if test(&candidate, &mut finished).await {
                    current = candidate;
                    simplified = true;
                    break;
                }
            }
            if !simplified || !finished {
                break;
            }
        }
    }
    Shrunk { picks: current, finished }
}

/// `items` in `n` parts as even as can be (fewer when there are fewer items).
fn split(items: &[Pick], n: usize) -> Vec<Vec<Pick>> {
    let n = n.clamp(1, items.len().max(1));
    let size = items.len() / n;
    let extra = items.len() % n;
    let mut parts = Vec::with_capacity(n);
    let mut start = 0;
    for k in 0..n {
        let len = size + usize::from(k < extra);
        parts.push(items[start..start + len].to_vec());
        start += len;
    }
    parts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::certify::fuzz::plan::Answer;
    use nppa_mockserver::variation::{Change, Changes};

    fn plan() -> Plan {
        Plan::generate(3, 16, &[])
    }

    #[tokio::test]
    async fn one_culprit_among_sixteen_is_found_in_few_trials() {
        let plan = plan();
        for culprit in 1..=16u32 {
            let mut runs = 0;
            let shrunk = shrink(&plan, plan.all(), async |picks: &[Pick]| {
                runs += 1;
                if picks.iter().any(|p| p.id == culprit) {
                    Trial::Fails
                } else {
                    Trial::Passes
                }
            })
            .await;
            assert_eq!(shrunk.picks.iter().map(|p| p.id).collect::<Vec<_>>(), vec![culprit]);
            assert!(shrunk.finished);
            assert!(runs <= 12, "culprit {culprit}: {runs} runs");
        }
    }

    #[tokio::test]
    async fn two_that_fail_only_together_are_both_kept() {
        let plan = plan();
        let shrunk = shrink(&plan, plan.all(), async |picks: &[Pick]| {
            let has = |id| picks.iter().any(|p| p.id == id);
            if has(2) && has(11) {
                Trial::Fails
            } else {
                Trial::Passes
            }
        })
        .await;
        assert_eq!(shrunk.picks.iter().map(|p| p.id).collect::<Vec<_>>(), vec![2, 11]);
    }

    #[tokio::test]
    async fn a_variation_of_several_changes_is_narrowed_to_the_one_that_breaks() {
        let mut plan = plan();
        let changes = Changes::of(&[Change::KeysReversed, Change::Chunked, Change::PiNull]);
        plan.variations[4].answer = Answer::Changed { changes };
        let id = plan.variations[4].id;
        let shrunk = shrink(&plan, plan.all(), async |picks: &[Pick]| {
            let breaks = picks.iter().any(|p| {
                let answer = p.answer.clone().unwrap_or_else(|| plan.get(p.id).unwrap().answer.clone());
                p.id == id && matches!(answer, Answer::Changed { changes } if changes.contains(Change::Chunked))
            });
            if breaks {
                Trial::Fails
            } else {
                Trial::Passes
            }
        })
        .await;
        assert_eq!(shrunk.picks.iter().map(ToString::to_string).collect::<Vec<_>>(), vec![format!("{id}:chunked")]);
    }

    #[tokio::test]
    async fn an_exhausted_budget_stops_with_what_it_has() {
        let plan = plan();
        let mut runs = 0;
        let shrunk = shrink(&plan, plan.all(), async |_: &[Pick]| {
            runs += 1;
            if runs > 2 {
                Trial::OutOfBudget
            } else {
                Trial::Passes
            }
        })
        .await;
        assert!(!shrunk.finished);
        assert_eq!(shrunk.picks.len(), 16);
    }
}
