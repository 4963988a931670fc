//! Weighted logistic regression with fractional labels, fitted by Newton's method (IRLS).
//!
//! Minimises `sum_i w_i * CE(y_i, sigmoid(b + beta . x_i)) + l2/2 * |beta|^2` with
//! `y_i` in [0, 1] and `w_i >= 0`. One solver serves every head:
//!
//! - event heads: binary labels, unit weights;
//! - the watch-time head (YouTube's weighted logistic regression, 2016): each impression is
//!   a positive weighted by its watch time T and a negative of weight 1, i.e. label
//!   `T / (T + 1)` with weight `T + 1`, so the fitted odds `e^(b + beta . x)` estimate the
//!   expected watch time;
//! - the duration-debiased head (D2Q): label = the watch time's quantile within its duration
//!   bucket.
//!
//! Why not a library: `linfa-logistic` (L-BFGS through argmin) takes binary targets and no
//! per-sample weights, which two of the three uses above need. With 17 parameters a dense
//! Newton step (a 17x17 Cholesky solve) converges in a handful of iterations, so the solver
//! is a few dozen lines, tested below against closed-form optima.
//!
//! Sums over samples run in parallel over fixed blocks and are added in block order, so the
//! result does not depend on the number of threads.

use rayon::prelude::*;

/// Rows per parallel block (fixed, for determinism).
const BLOCK: usize = 4096;

/// A dense design: `n` rows of `d` inputs (the intercept is implicit).
pub struct Design<'a> {
    /// Row-major inputs, `n * d` values.
    pub x: &'a [f64],
    /// Inputs per row.
    pub d: usize,
}

impl Design<'_> {
    /// Rows.
    pub fn rows(&self) -> usize {
        self.x.len() / self.d
    }
    fn row(&self, i: usize) -> &[f64] {
        &self.x[i * self.d..(i + 1) * self.d]
    }
}

/// Fit settings.
#[derive(Clone, Copy, Debug)]
pub struct FitSettings {
    /// L2 penalty on the weights (not the bias), per unit of total sample weight.
    pub l2: f64,
    /// Most Newton iterations.
    pub max_iter: usize,
    /// Stop when the largest parameter step is below this.
    pub tol: f64,
}

impl Default for FitSettings {
    fn default() -> Self {
        FitSettings { l2: 1e-4, max_iter: 50, tol: 1e-9 }
    }
}

/// A fitted head.
#[derive(Clone, Debug, PartialEq)]
pub struct Fitted {
    /// Intercept.
    pub bias: f64,
    /// One weight per input.
    pub weights: Vec<f64>,
    /// Newton iterations used.
    pub iterations: usize,
}

impl Fitted {
    /// `b + beta . x`.
    pub fn logit(&self, x: &[f64]) -> f64 {
        self.bias + self.weights.iter().zip(x).map(|(w, v)| w * v).sum::<f64>()
    }
}

/// Logistic function, stable at both ends.
pub fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// `log(1 + e^z)`, stable.
fn softplus(z: f64) -> f64 {
    if z > 30.0 {
        z
    } else {
        z.exp().ln_1p()
    }
}

/// Penalised objective (mean over total weight, for the line search).
fn objective(design: &Design<'_>, y: &[f64], w: &[f64], theta: &[f64], lambda: f64) -> f64 {
    let d = design.d;
    let parts: Vec<f64> = (0..design.rows())
        .collect::<Vec<_>>()
        .par_chunks(BLOCK)
        .map(|idx| {
            idx.iter()
                .map(|&i| {
                    let x = design.row(i);
                    let z = theta[0] + (0..d).map(|j| theta[j + 1] * x[j]).sum::<f64>();
                    // CE(y, sigmoid(z)) = softplus(z) - y z
                    w[i] * (softplus(z) - y[i] * z)
                })
                .sum::<f64>()
        })
        .collect();
    parts.iter().sum::<f64>() + 0.5 * lambda * theta[1..].iter().map(|t| t * t).sum::<f64>()
}

/// Solves `a x = b` for a symmetric positive definite `a` (Cholesky), in place of `b`.
/// Returns `None` if `a` is not positive definite.
pub fn cholesky_solve(a: &[f64], b: &mut [f64]) -> Option<()> {
    let n = b.len();
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    for i in 0..n {
        let mut s = b[i];
        for k in 0..i {
            s -= l[i * n + k] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
    for i in (0..n).rev() {
        let mut s = b[i];
        for k in i + 1..n {
            s -= l[k * n + i] * b[k];
        }
        b[i] = s / l[i * n + i];
    }
    Some(())
}

/// Fits one head. `y` are labels in [0, 1], `w` non-negative sample weights.
pub fn fit(design: &Design<'_>, y: &[f64], w: &[f64], s: &FitSettings) -> Result<Fitted, String> {
    let n = design.rows();
    let d = design.d;
    let p = d + 1;
    if y.len() != n || w.len() != n || n == 0 {
        return Err(format!("fit: {n} rows, {} labels, {} weights", y.len(), w.len()));
    }
    let total_w: f64 = w.iter().sum();
    let mean_y = y.iter().zip(w).map(|(a, b)| a * b).sum::<f64>() / total_w;
    if total_w.is_nan() || total_w <= 0.0 || !(0.0..=1.0).contains(&mean_y) {
        return Err("fit: no weight, or labels outside [0, 1]".into());
    }
    let lambda = s.l2 * total_w;
    let mut theta = vec![0.0; p];
    let m = mean_y.clamp(1e-9, 1.0 - 1e-9);
    theta[0] = (m / (1.0 - m)).ln();
    let mut obj = objective(design, y, w, &theta, lambda);
    let rows: Vec<usize> = (0..n).collect();
    for it in 1..=s.max_iter {
        // Gradient and Hessian of the penalised objective, summed block by block.
        let parts: Vec<(Vec<f64>, Vec<f64>)> = rows
            .par_chunks(BLOCK)
            .map(|idx| {
                let mut g = vec![0.0; p];
                let mut h = vec![0.0; p * p];
                let mut xr = vec![0.0; p];
                for &i in idx {
                    let x = design.row(i);
                    xr[0] = 1.0;
                    xr[1..].copy_from_slice(x);
                    let z: f64 = theta.iter().zip(&xr).map(|(t, v)| t * v).sum();
                    let q = sigmoid(z);
                    let r = w[i] * (q - y[i]);
                    let c = w[i] * q * (1.0 - q);
                    for a in 0..p {
                        g[a] += r * xr[a];
                        let ca = c * xr[a];
                        for b in 0..=a {
                            h[a * p + b] += ca * xr[b];
                        }
                    }
                }
                (g, h)
            })
            .collect();
        let mut g = vec![0.0; p];
        let mut h = vec![0.0; p * p];
        for (pg, ph) in &parts {
            for a in 0..p {
                g[a] += pg[a];
            }
            for a in 0..p * p {
                h[a] += ph[a];
            }
        }
        for a in 0..p {
            for b in 0..a {
                h[b * p + a] = h[a * p + b];
            }
        }
        for a in 1..p {
            g[a] += lambda * theta[a];
            h[a * p + a] += lambda;
        }
        // A tiny ridge on the intercept too, so an all-positive head stays solvable.
        h[0] += 1e-12 * total_w;
        let mut step = g.clone();
        cholesky_solve(&h, &mut step).ok_or("fit: Hessian not positive definite")?;
        // Damped Newton: halve the step until the objective does not increase.
        let mut t = 1.0;
        let mut next;
        loop {
            next = theta.iter().zip(&step).map(|(a, b)| a - t * b).collect::<Vec<_>>();
            let o = objective(design, y, w, &next, lambda);
            if o <= obj || t < 1e-6 {
                obj = o;
                break;
            }
            t *= 0.5;
        }
        let moved = theta.iter().zip(&next).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        theta = next;
        if moved < s.tol {
            return Ok(Fitted { bias: theta[0], weights: theta[1..].to_vec(), iterations: it });
        }
    }
    Ok(Fitted { bias: theta[0], weights: theta[1..].to_vec(), iterations: s.max_iter })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cholesky_solves_a_known_system() {
        // [[4, 2], [2, 3]] x = [2, 1] -> x = [0.5, 0]
        let mut b = [2.0, 1.0];
        cholesky_solve(&[4.0, 2.0, 2.0, 3.0], &mut b).unwrap();
        assert!((b[0] - 0.5).abs() < 1e-12 && b[1].abs() < 1e-12, "{b:?}");
        assert!(cholesky_solve(&[1.0, 2.0, 2.0, 1.0], &mut [1.0, 1.0]).is_none());
    }

    #[test]
    fn a_binary_indicator_recovers_the_cell_log_odds() {
        // Two cells: x = 0 with rate 1/5, x = 1 with rate 3/4. The unpenalised optimum is
        // bias = logit(1/5), weight = logit(3/4) - logit(1/5).
        let mut x = Vec::new();
        let mut y = Vec::new();
        for i in 0..20 {
            x.push(0.0);
            y.push((i % 5 == 0) as u8 as f64);
        }
        for i in 0..20 {
            x.push(1.0);
            y.push((i % 4 != 0) as u8 as f64);
        }
        let w = vec![1.0; y.len()];
        let f = fit(&Design { x: &x, d: 1 }, &y, &w, &FitSettings { l2: 0.0, ..FitSettings::default() }).unwrap();
        let logit = |p: f64| (p / (1.0 - p)).ln();
        assert!((f.bias - logit(0.2)).abs() < 1e-7, "{f:?}");
        assert!((f.weights[0] - (logit(0.75) - logit(0.2))).abs() < 1e-7, "{f:?}");
        assert!(f.iterations < 20);
    }

    #[test]
    fn weighted_logistic_odds_estimate_mean_watch_time() {
        // Watch times per cell: x = 0 -> {2, 4, 6} (mean 4), x = 1 -> {10, 30} (mean 20).
        // Label T / (T + 1), weight T + 1: the fitted odds equal each cell's mean exactly.
        let cells = [(0.0, vec![2.0, 4.0, 6.0]), (1.0, vec![10.0, 30.0])];
        let (mut x, mut y, mut w) = (Vec::new(), Vec::new(), Vec::new());
        for (xv, ts) in &cells {
            for t in ts {
                x.push(*xv);
                y.push(t / (t + 1.0));
                w.push(t + 1.0);
            }
        }
        let f = fit(&Design { x: &x, d: 1 }, &y, &w, &FitSettings { l2: 0.0, ..FitSettings::default() }).unwrap();
        assert!((f.logit(&[0.0]).exp() - 4.0).abs() < 1e-6, "{f:?}");
        assert!((f.logit(&[1.0]).exp() - 20.0).abs() < 1e-6, "{f:?}");
    }

    #[test]
    fn fractional_labels_and_penalty_behave() {
        // A constant fractional label: the bias is its logit and the weight of an
        // uninformative input stays at zero.
        let x: Vec<f64> = (0..100).map(|i| (i % 7) as f64 / 7.0).collect();
        let y = vec![0.3; 100];
        let w = vec![1.0; 100];
        let f = fit(&Design { x: &x, d: 1 }, &y, &w, &FitSettings::default()).unwrap();
        assert!((sigmoid(f.bias) - 0.3).abs() < 1e-9 && f.weights[0].abs() < 1e-9, "{f:?}");
        // Perfectly separable data: the penalty keeps the weight finite.
        let x: Vec<f64> = (0..100).map(|i| (i >= 50) as u8 as f64).collect();
        let y = x.clone();
        let f = fit(&Design { x: &x, d: 1 }, &y, &w, &FitSettings { l2: 1e-3, ..FitSettings::default() }).unwrap();
        assert!(f.weights[0].is_finite() && f.weights[0] > 5.0, "{f:?}");
        assert!(fit(&Design { x: &x, d: 1 }, &y[..10], &w, &FitSettings::default()).is_err());
    }
}
