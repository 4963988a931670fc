//! Held-out metrics: ROC AUC of a probability head, XAUC of a watch-time prediction.

use crate::metrics::xauc_pairs;

/// ROC AUC: the probability that a random positive scores above a random negative (ties
/// count 1/2). `None` when either class is empty.
pub fn auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let pos = labels.iter().filter(|&&l| l).count() as f64;
    let neg = labels.len() as f64 - pos;
    if pos == 0.0 || neg == 0.0 {
        return None;
    }
    // Sum of the positives' (mid-)ranks, 1-based.
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let mid = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += mid * idx[i..=j].iter().filter(|&&k| labels[k]).count() as f64;
        i = j + 1;
    }
    Some((rank_sum - pos * (pos + 1.0) / 2.0) / (pos * neg))
}

/// XAUC over pairs of items of the same group (a session), as the comparison measures it:
/// the share of pairs with different realised watch time whose predictions order them
/// correctly (prediction ties 1/2). `groups` are the group boundaries: rows
/// `groups[k]..groups[k + 1]` form one group.
pub fn xauc(pred: &[f64], actual: &[f64], groups: &[usize]) -> Option<f64> {
    let mut conc = 0.0;
    let mut n = 0u64;
    let mut pairs = Vec::new();
    for g in groups.windows(2) {
        pairs.clear();
        pairs.extend((g[0]..g[1]).map(|i| (pred[i], actual[i])));
        let (c, k) = xauc_pairs(&pairs);
        conc += c;
        n += k;
    }
    (n > 0).then(|| conc / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_known_values() {
        assert_eq!(auc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]), Some(1.0));
        assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]), Some(0.0));
        // One positive between two negatives: beats one of two.
        assert_eq!(auc(&[0.1, 0.5, 0.9], &[false, true, false]), Some(0.5));
        // All tied: 1/2.
        assert_eq!(auc(&[0.3; 4], &[true, false, true, false]), Some(0.5));
        // Positives {0.5, 0.7}, negatives {0.5, 0.1}: the tied pair counts 1/2, so 3.5 of 4.
        assert_eq!(auc(&[0.5, 0.7, 0.5, 0.1], &[true, true, false, false]), Some(3.5 / 4.0));
        assert_eq!(auc(&[0.5, 0.7], &[true, true]), None);
    }

    #[test]
    fn xauc_counts_pairs_within_groups_only() {
        // Group 1 ordered right, group 2 ordered wrong; a cross-group pair would be right
        // but must not count.
        let pred = [1.0, 2.0, 10.0, 5.0];
        let actual = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(xauc(&pred, &actual, &[0, 2, 4]), Some(0.5));
        assert_eq!(xauc(&pred, &actual, &[0, 4]), Some(5.0 / 6.0));
        assert_eq!(xauc(&pred, &[1.0; 4], &[0, 4]), None);
    }
}
