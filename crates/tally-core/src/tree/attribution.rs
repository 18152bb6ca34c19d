//! Attribution that adds up: how much of a parent metric's change each input explains.
//!
//! Pure math on two periods' values (period 0, the comparison, and period 1, the current one).
//! Every method returns contributions whose sum is the parent's change: sums and differences by
//! their coefficients, products and ratios by LMDI (logarithmic-mean Divisia), any other formula
//! by exact Shapley values, and a ratio split by one dimension into mix and rate effects.
//! Nothing here returns NaN: a method that does not apply returns `None` and the caller falls back
//! (LMDI -> Shapley when a value is zero or changes sign; Shapley -> not decomposable when the
//! formula has no value at some mixed point, e.g. a division by zero).

use serde::Serialize;

/// The most inputs Shapley values are computed for (2^k evaluations of the formula).
pub const MAX_SHAPLEY_INPUTS: usize = 12;

/// How a parent's change was split among its inputs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// A linear formula: contribution = coefficient × the input's change.
    Sum,
    /// A product or ratio: logarithmic-mean Divisia index.
    Lmdi,
    /// Any other formula: exact Shapley values over the inputs.
    Shapley,
    /// Medians and percentiles, formulas with more than [`MAX_SHAPLEY_INPUTS`] inputs or without a
    /// value at some mix of the two periods: no exact split exists.
    NonDecomposable,
}

impl Method {
    pub fn name(self) -> &'static str {
        match self {
            Method::Sum => "sum",
            Method::Lmdi => "lmdi",
            Method::Shapley => "shapley",
            Method::NonDecomposable => "non_decomposable",
        }
    }
}

/// Contributions of linear inputs: P = c + Σ cᵢ·xᵢ gives cᵢ·Δxᵢ.
pub fn linear(coefficients: &[f64], x0: &[f64], x1: &[f64]) -> Vec<f64> {
    coefficients
        .iter()
        .zip(x0.iter().zip(x1))
        .map(|(c, (a, b))| c * (b - a))
        .collect()
}

/// The logarithmic mean L(a, b) = (a − b) / (ln a − ln b), L(a, a) = a, for a, b > 0.
pub fn log_mean(a: f64, b: f64) -> f64 {
    let d = a.ln() - b.ln();
    if d.abs() < 1e-12 {
        // Second-order expansion around a = b: accurate where the quotient is 0/0.
        (a + b) / 2.0
    } else {
        (a - b) / d
    }
}

/// LMDI contributions for P = c · Π xᵢ^eᵢ: L(P₁, P₀) · eᵢ · ln(xᵢ₁ / xᵢ₀), computed on |P| and
/// given P's sign. `None` when an input is zero, negative or not finite (logs undefined) or c = 0.
pub fn lmdi(constant: f64, exponents: &[f64], x0: &[f64], x1: &[f64]) -> Option<Vec<f64>> {
    if constant == 0.0 || !constant.is_finite() {
        return None;
    }
    if x0.iter().chain(x1).any(|v| !(v.is_finite() && *v > 0.0)) {
        return None;
    }
    let p = |x: &[f64]| {
        exponents
            .iter()
            .zip(x)
            .fold(constant.abs(), |acc, (e, v)| acc * v.powf(*e))
    };
    let (p0, p1) = (p(x0), p(x1));
    if !(p0.is_finite() && p1.is_finite() && p0 > 0.0 && p1 > 0.0) {
        return None;
    }
    let l = log_mean(p1, p0);
    let sign = constant.signum();
    Some(
        exponents
            .iter()
            .zip(x0.iter().zip(x1))
            .map(|(e, (a, b))| sign * l * e * (b / a).ln())
            .collect(),
    )
}

/// Exact Shapley values of `f` between the inputs `x0` and `x1`:
/// φᵢ = Σ_{S ⊆ N∖{i}} |S|!(k−|S|−1)!/k! · (f(x^{S∪{i}}) − f(x^S)), where x^S takes period-1
/// values for the inputs in S. `None` with more than [`MAX_SHAPLEY_INPUTS`] inputs or when `f` has
/// no finite value at some mixed point.
pub fn shapley(f: &dyn Fn(&[f64]) -> Option<f64>, x0: &[f64], x1: &[f64]) -> Option<Vec<f64>> {
    let k = x0.len();
    if k != x1.len() || k > MAX_SHAPLEY_INPUTS {
        return None;
    }
    // f at every subset, indexed by bit mask (bit i set: input i at period 1).
    let mut values = Vec::with_capacity(1 << k);
    let mut point = vec![0.0; k];
    for mask in 0..(1usize << k) {
        for i in 0..k {
            point[i] = if mask & (1 << i) != 0 { x1[i] } else { x0[i] };
        }
        let v = f(&point).filter(|v| v.is_finite())?;
        values.push(v);
    }
    let fact = |n: usize| (1..=n).fold(1.0f64, |a, b| a * b as f64);
    let kf = fact(k);
    let mut phi = vec![0.0; k];
    for (i, p) in phi.iter_mut().enumerate() {
        for mask in 0..(1usize << k) {
            if mask & (1 << i) != 0 {
                continue;
            }
            let s = mask.count_ones() as usize;
            let w = fact(s) * fact(k - s - 1) / kf;
            *p += w * (values[mask | (1 << i)] - values[mask]);
        }
    }
    Some(phi)
}

/// One value of a dimension in a mix/rate split of a ratio: its numerator and denominator in both
/// periods (0 when the slice has no rows in a period).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SliceValues {
    pub key: String,
    pub num0: f64,
    pub den0: f64,
    pub num1: f64,
    pub den1: f64,
}

/// A slice's share of a ratio's change.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SliceEffect {
    pub key: String,
    /// The slice's weight (share of the denominator) in periods 0 and 1.
    pub weight0: f64,
    pub weight1: f64,
    /// The slice's own ratio in periods 0 and 1 (None without rows in the denominator).
    pub rate0: Option<f64>,
    pub rate1: Option<f64>,
    /// Δw · r̄: the change that comes from the slice's share of the denominator moving.
    pub mix: f64,
    /// w̄ · Δr: the change that comes from the slice's own ratio moving.
    pub rate: f64,
}

/// A ratio R = Σ num / Σ den split by one dimension into mix and rate effects.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MixRate {
    pub value0: Option<f64>,
    pub value1: Option<f64>,
    pub slices: Vec<SliceEffect>,
    pub mix_total: f64,
    pub rate_total: f64,
    /// What the slices do not explain: non-zero only when a slice has a numerator but no
    /// denominator (its rows count in the ratio but have no weight). Reported, never hidden.
    pub unexplained: f64,
}

/// Mix/rate decomposition with midpoint weights: R = Σ wᵢ·rᵢ, wᵢ = denᵢ / Σ den, and
/// ΔR = Σ Δwᵢ·r̄ᵢ (mix) + Σ w̄ᵢ·Δrᵢ (rate), exact per slice. A slice without denominator rows in
/// one period has no rate there: its rate in the other period stands for both (Δr = 0), so its
/// whole effect is mix.
pub fn mix_rate(slices: &[SliceValues]) -> MixRate {
    let n0: f64 = slices.iter().map(|s| s.den0).sum();
    let n1: f64 = slices.iter().map(|s| s.den1).sum();
    let ratio = |num: f64, den: f64| (den != 0.0).then(|| num / den);
    let value0 = ratio(slices.iter().map(|s| s.num0).sum(), n0);
    let value1 = ratio(slices.iter().map(|s| s.num1).sum(), n1);
    let mut out = Vec::with_capacity(slices.len());
    let (mut mix_total, mut rate_total) = (0.0, 0.0);
    for s in slices {
        let w0 = if n0 != 0.0 { s.den0 / n0 } else { 0.0 };
        let w1 = if n1 != 0.0 { s.den1 / n1 } else { 0.0 };
        let r0 = ratio(s.num0, s.den0).filter(|_| w0 != 0.0);
        let r1 = ratio(s.num1, s.den1).filter(|_| w1 != 0.0);
        let (a, b) = match (r0, r1) {
            (Some(a), Some(b)) => (a, b),
            (Some(a), None) => (a, a),
            (None, Some(b)) => (b, b),
            (None, None) => (0.0, 0.0),
        };
        let mix = (w1 - w0) * (a + b) / 2.0;
        let rate = (w0 + w1) / 2.0 * (b - a);
        mix_total += mix;
        rate_total += rate;
        out.push(SliceEffect {
            key: s.key.clone(),
            weight0: w0,
            weight1: w1,
            rate0: r0,
            rate1: r1,
            mix,
            rate,
        });
    }
    let unexplained = match (value0, value1) {
        (Some(a), Some(b)) => (b - a) - (mix_total + rate_total),
        _ => 0.0,
    };
    MixRate {
        value0,
        value1,
        slices: out,
        mix_total,
        rate_total,
        unexplained: if unexplained.abs() < 1e-12 {
            0.0
        } else {
            unexplained
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64, scale: f64) -> bool {
        (a - b).abs() <= 1e-9 * scale.max(1.0)
    }

    #[test]
    fn ratio_lmdi_adds_up_and_signs_follow_the_inputs() {
        // resolution rate 600/1000 -> 540/1000: the numerator explains everything.
        let c = lmdi(1.0, &[1.0, -1.0], &[600.0, 1000.0], &[540.0, 1000.0]).unwrap();
        assert!(close(c[0], -0.06, 1.0) && c[1].abs() < 1e-15, "{c:?}");
        // More conversations with the same resolved count: the denominator pulls the rate down.
        let c = lmdi(1.0, &[1.0, -1.0], &[600.0, 1000.0], &[600.0, 1200.0]).unwrap();
        assert!(c[0].abs() < 1e-15 && c[1] < 0.0);
        assert!(close(c.iter().sum(), 0.5 - 0.6, 1.0));
    }

    #[test]
    fn lmdi_refuses_zero_and_sign_changes() {
        assert!(lmdi(1.0, &[1.0, -1.0], &[0.0, 10.0], &[5.0, 10.0]).is_none());
        assert!(lmdi(1.0, &[1.0], &[-1.0], &[2.0]).is_none());
        assert!(lmdi(0.0, &[1.0], &[1.0], &[2.0]).is_none());
    }

    #[test]
    fn shapley_on_a_ratio_is_the_average_of_both_orders() {
        let f = |x: &[f64]| (x[1] != 0.0).then(|| x[0] / x[1]);
        let c = shapley(&f, &[0.0, 10.0], &[5.0, 20.0]).unwrap();
        // numerator first: 0 -> 0.5 at den 10, then 0.5 -> 0.25; den first: 0 -> 0, then 0 -> 0.25.
        assert!(close(c[0], (0.5 + 0.25) / 2.0, 1.0), "{c:?}");
        assert!(close(c[1], (-0.25 + 0.0) / 2.0, 1.0), "{c:?}");
    }

    #[test]
    fn shapley_gives_up_without_a_value() {
        let f = |x: &[f64]| (x[1] != 0.0).then(|| x[0] / x[1]);
        assert!(shapley(&f, &[1.0, 0.0], &[1.0, 2.0]).is_none());
        let many = vec![1.0; MAX_SHAPLEY_INPUTS + 1];
        assert!(shapley(&|x: &[f64]| Some(x.iter().sum()), &many, &many).is_none());
    }

    #[test]
    fn mix_and_rate_separate_where_the_work_went_from_how_well_it_was_done() {
        // Tier 1 resolves 80%, Tier 2 50%; the mix moves to Tier 2 while both rates stay put.
        let s = [
            SliceValues {
                key: "Tier 1".into(),
                num0: 640.0,
                den0: 800.0,
                num1: 400.0,
                den1: 500.0,
            },
            SliceValues {
                key: "Tier 2".into(),
                num0: 100.0,
                den0: 200.0,
                num1: 250.0,
                den1: 500.0,
            },
        ];
        let m = mix_rate(&s);
        assert!(close(m.rate_total, 0.0, 1.0), "{m:?}");
        assert!(close(m.mix_total, 0.65 - 0.74, 1.0), "{m:?}");
        assert_eq!(m.unexplained, 0.0);
    }

    #[test]
    fn a_slice_in_one_period_only_is_all_mix() {
        let s = [
            SliceValues {
                key: "a".into(),
                num0: 5.0,
                den0: 10.0,
                num1: 5.0,
                den1: 10.0,
            },
            SliceValues {
                key: "new".into(),
                num0: 0.0,
                den0: 0.0,
                num1: 9.0,
                den1: 10.0,
            },
        ];
        let m = mix_rate(&s);
        assert_eq!(m.slices[1].rate, 0.0);
        assert!(close(m.mix_total + m.rate_total, 0.7 - 0.5, 1.0), "{m:?}");
    }

    fn positive() -> impl Strategy<Value = f64> {
        1e-3f64..1e4
    }

    fn any_value() -> impl Strategy<Value = f64> {
        prop_oneof![Just(0.0), -1e4f64..1e4, 1e-3f64..1e4]
    }

    proptest! {
        // A fixed seed: the suite is deterministic.
        #![proptest_config(ProptestConfig {
            rng_seed: proptest::test_runner::RngSeed::Fixed(7),
            ..ProptestConfig::default()
        })]
        #[test]
        fn linear_contributions_add_up(
            v in prop::collection::vec((-10f64..10.0, any_value(), any_value()), 1..8),
        ) {
            let c: Vec<f64> = v.iter().map(|t| t.0).collect();
            let x0: Vec<f64> = v.iter().map(|t| t.1).collect();
            let x1: Vec<f64> = v.iter().map(|t| t.2).collect();
            let p = |x: &[f64]| c.iter().zip(x).map(|(a, b)| a * b).sum::<f64>();
            let d = p(&x1) - p(&x0);
            let s: f64 = linear(&c, &x0, &x1).iter().sum();
            prop_assert!(close(s, d, p(&x0).abs().max(p(&x1).abs())), "{s} vs {d}");
        }

        #[test]
        fn lmdi_contributions_add_up(
            v in prop::collection::vec((-2i32..=2, positive(), positive()), 1..5),
            constant in prop_oneof![0.01f64..100.0, -100f64..-0.01],
        ) {
            let e: Vec<f64> = v.iter().map(|t| t.0 as f64).collect();
            let x0: Vec<f64> = v.iter().map(|t| t.1).collect();
            let x1: Vec<f64> = v.iter().map(|t| t.2).collect();
            let p = |x: &[f64]| e.iter().zip(x).fold(constant, |a, (e, v)| a * v.powf(*e));
            let (p0, p1) = (p(&x0), p(&x1));
            prop_assume!(p0.abs() < 1e12 && p1.abs() < 1e12);
            let c = lmdi(constant, &e, &x0, &x1).unwrap();
            let s: f64 = c.iter().sum();
            prop_assert!(close(s, p1 - p0, p0.abs().max(p1.abs())), "{s} vs {}", p1 - p0);
            // An input that did not move contributes nothing; one that moved in P's favour adds.
            for (i, ci) in c.iter().enumerate() {
                if x0[i] == x1[i] || e[i] == 0.0 { prop_assert!(ci.abs() < 1e-12); }
            }
        }

        #[test]
        fn shapley_contributions_add_up(
            x0 in prop::collection::vec(any_value(), 4),
            x1 in prop::collection::vec(any_value(), 4),
        ) {
            // (a + b) * c - d * d / 7: neither linear nor a product.
            let f = |x: &[f64]| Some((x[0] + x[1]) * x[2] - x[3] * x[3] / 7.0);
            let c = shapley(&f, &x0, &x1).unwrap();
            let (p0, p1) = (f(&x0).unwrap(), f(&x1).unwrap());
            let s: f64 = c.iter().sum();
            // Rounding is relative to the largest term summed (the contributions can be far
            // larger than both ends, e.g. when f(x0) = f(x1) = 0).
            let scale = c.iter().fold(p0.abs().max(p1.abs()), |m, v| m.max(v.abs()));
            prop_assert!(close(s, p1 - p0, scale), "{s} vs {}", p1 - p0);
        }

        #[test]
        fn lmdi_and_shapley_agree_with_the_sum_on_additive_formulas(
            x0 in prop::collection::vec(any_value(), 3),
            x1 in prop::collection::vec(any_value(), 3),
        ) {
            let c = [1.0, -1.0, 0.5];
            let f = |x: &[f64]| Some(x[0] - x[1] + 0.5 * x[2]);
            let sh = shapley(&f, &x0, &x1).unwrap();
            let li = linear(&c, &x0, &x1);
            for (a, b) in sh.iter().zip(&li) {
                prop_assert!(close(*a, *b, 1e4));
            }
        }

        #[test]
        fn mix_and_rate_add_up(
            v in prop::collection::vec((0f64..1e4, 0f64..1e4, 0f64..1e4, 0f64..1e4), 1..8),
        ) {
            // Numerators never exceed their denominators (a rate), and are 0 without rows.
            let slices: Vec<SliceValues> = v.iter().enumerate().map(|(i, t)| SliceValues {
                key: i.to_string(),
                num0: t.0.min(t.1), den0: t.1, num1: t.2.min(t.3), den1: t.3,
            }).collect();
            let m = mix_rate(&slices);
            if let (Some(a), Some(b)) = (m.value0, m.value1) {
                prop_assert!(close(m.mix_total + m.rate_total, b - a, 1.0));
                prop_assert_eq!(m.unexplained, 0.0);
            }
        }
    }
}
