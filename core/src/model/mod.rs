//! The ranking models: one logistic head per predicted event, plus watch-time heads.
//!
//! A [`Model`] is data. It travels as a versioned, checksummed postcard blob
//! ([`Model::from_blob`] / [`Model::to_blob`]) and is validated before use: a model that
//! passes [`Model::validate`] cannot overflow the 32-bit accumulators of the scorer.

mod default;
mod dot;

use serde::de::{DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::BlobError;
use crate::num::{exp, log2_exp_q16, log2_sigmoid_q16, sigmoid, Feature, HeadValue, Logit, Prob, WatchTime, Weight};
use crate::wire::in_place::{next, next_in_place, Array};

pub use default::DEFAULT_MODEL_ID;
pub use dot::{Dot, PortableDot};

/// Number of model inputs per candidate (see [`crate::pipeline::features`]).
pub const FEATURES: usize = 16;
/// Number of heads.
pub const HEADS: usize = 12;
/// Number of duration buckets of the duration-debiased watch-time model.
pub const DURATION_BUCKETS: usize = 8;
/// Quantile grid of the debiased model: q = 0, 1/8, ..., 1.
pub const QUANTILE_POINTS: usize = 9;
/// Blob format version this build reads and writes.
pub const MODEL_FORMAT_VERSION: u16 = 1;
/// First bytes of every model blob.
pub const MODEL_MAGIC: [u8; 4] = *b"ERMD";

/// What a head predicts. The discriminant is the head's row in [`Model::weights`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[repr(u8)]
pub enum Head {
    /// P(like).
    Like = 0,
    /// P(comment or reply).
    Comment = 1,
    /// P(share or send).
    Share = 2,
    /// P(save or bookmark).
    Save = 3,
    /// P(follow the author).
    Follow = 4,
    /// P(visit the author's profile).
    ProfileVisit = 5,
    /// P(negative feedback: hide, see fewer, mute, block).
    Negative = 6,
    /// P(report).
    Report = 7,
    /// P(watch to the end).
    Completion = 8,
    /// P(skip in under 3 s).
    FastSkip = 9,
    /// Expected watch time in seconds: the weighted-logistic "odds" e^(w·x + b).
    WatchTime = 10,
    /// Duration-debiased watch time: the predicted quantile of watch time within the item's
    /// duration bucket (D2Q), in [0, 1].
    WatchQuantile = 11,
}

impl Head {
    /// All heads in row order.
    pub const ALL: [Head; HEADS] = [
        Head::Like,
        Head::Comment,
        Head::Share,
        Head::Save,
        Head::Follow,
        Head::ProfileVisit,
        Head::Negative,
        Head::Report,
        Head::Completion,
        Head::FastSkip,
        Head::WatchTime,
        Head::WatchQuantile,
    ];

    /// Row index.
    #[inline]
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The unit of the head's output: a probability or seconds of watch time.
    #[inline]
    pub const fn unit(self) -> HeadUnit {
        match self {
            Head::WatchTime => HeadUnit::Seconds,
            _ => HeadUnit::Probability,
        }
    }

    /// A short snake_case name (used in reports and explanations).
    pub const fn name(self) -> &'static str {
        match self {
            Head::Like => "like",
            Head::Comment => "comment",
            Head::Share => "share",
            Head::Save => "save",
            Head::Follow => "follow",
            Head::ProfileVisit => "profile_visit",
            Head::Negative => "negative",
            Head::Report => "report",
            Head::Completion => "completion",
            Head::FastSkip => "fast_skip",
            Head::WatchTime => "watch_time",
            Head::WatchQuantile => "watch_quantile",
        }
    }
}

/// Unit of a head's output value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadUnit {
    /// A [`Prob`]: raw scale 2^-15.
    Probability,
    /// A [`WatchTime`]: raw scale 2^-5 seconds.
    Seconds,
}

impl HeadUnit {
    /// Nominal largest output (1 for probabilities, 2048 s for watch time): the "mass" a
    /// head can add to a score, used by the negative-total rule.
    pub fn max_value(self) -> f32 {
        match self {
            HeadUnit::Probability => 1.0,
            HeadUnit::Seconds => 2048.0,
        }
    }
}

/// The outputs of all heads for one candidate, in [`Head`] order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeadValues(pub [HeadValue; HEADS]);

impl HeadValues {
    /// A head's real value (a probability, or seconds for [`Head::WatchTime`]).
    pub fn value(&self, head: Head) -> f64 {
        self.0[head.index()].to_f64()
    }
    /// A probability head's value as a [`Prob`] (saturating).
    pub fn prob(&self, head: Head) -> Prob {
        Prob::from_raw(self.0[head.index()].to_fixed(Prob::FRAC_BITS).min(32768) as u16)
    }
    /// The expected watch time (saturating at [`WatchTime::MAX`]).
    pub fn watch_time(&self) -> WatchTime {
        WatchTime(self.0[Head::WatchTime.index()].to_fixed(WatchTime::FRAC_BITS).min(u16::MAX as u32) as u16)
    }
}

/// A complete model. Weights are Q4.11 ([`Weight`]), biases Q24 logits ([`Logit`]).
///
/// `repr(C)`, so that each row of weights starts at a word boundary (a [`Dot`] may read a
/// row as packed pairs of weights; checked at compile time below).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[repr(C)]
pub struct Model {
    /// Always [`MODEL_MAGIC`].
    pub magic: [u8; 4],
    /// Always [`MODEL_FORMAT_VERSION`] for blobs this build accepts.
    pub format_version: u16,
    /// Identifies the trained weights (reported by the firmware's info request).
    pub model_id: u32,
    /// One row of feature weights per head, in [`Head`] order.
    pub weights: [[Weight; FEATURES]; HEADS],
    /// One bias per head.
    pub bias: [Logit; HEADS],
    /// Upper bounds (exclusive, milliseconds) of the first `DURATION_BUCKETS - 1` duration
    /// buckets; the last bucket is open-ended. Strictly increasing.
    pub duration_bucket_upper_ms: [u32; DURATION_BUCKETS - 1],
    /// Watch time at each quantile point, per duration bucket. Non-decreasing along a row.
    pub watch_quantiles: [[WatchTime; QUANTILE_POINTS]; DURATION_BUCKETS],
}

const _: () = assert!(
    core::mem::offset_of!(Model, weights) % 4 == 0
        && core::mem::size_of::<[Weight; FEATURES]>() % 4 == 0
        && core::mem::align_of::<Model>() >= 4
);

/// Largest |bias| a valid model may have (64.0).
const MAX_BIAS_RAW: i32 = 64 << 24;

impl Model {
    /// Checks the invariants the scorer relies on.
    ///
    /// The accumulator bound: a feature is an `i16` (|raw| <= 2^15; the feature builder
    /// clamps to 32,767, but any [`Feature`] a caller passes counts), so a head's Q24 sum is
    /// at most `|bias| + sum |w| * 2^15`; a valid model keeps that below 2^31, so the dot
    /// product cannot overflow whatever the features.
    #[inline]
    pub fn validate(&self) -> Result<(), BlobError> {
        if self.magic != MODEL_MAGIC {
            return Err(BlobError::BadMagic);
        }
        if self.format_version != MODEL_FORMAT_VERSION {
            return Err(BlobError::UnsupportedVersion(self.format_version));
        }
        for (row, bias) in self.weights.iter().zip(self.bias.iter()) {
            if bias.0.unsigned_abs() > MAX_BIAS_RAW as u32 {
                return Err(BlobError::OutOfRange);
            }
            let l1: i64 = row.iter().map(|w| (w.0 as i64).abs()).sum();
            let bound = (bias.0 as i64).abs() + l1 * (i16::MIN as i64).abs();
            if bound >= i32::MAX as i64 {
                return Err(BlobError::OutOfRange);
            }
        }
        if self.duration_bucket_upper_ms.windows(2).any(|w| w[0] >= w[1]) {
            return Err(BlobError::OutOfRange);
        }
        if self.watch_quantiles.iter().any(|row| row.windows(2).any(|w| w[0] > w[1])) {
            return Err(BlobError::OutOfRange);
        }
        Ok(())
    }

    /// Multiply-accumulates per candidate (for reports).
    pub const fn macs_per_candidate() -> usize {
        FEATURES * HEADS
    }

    /// Evaluates every head on one feature vector.
    #[inline]
    pub fn evaluate(&self, x: &[Feature; FEATURES]) -> HeadValues {
        let mut out = [HeadValue::ZERO; HEADS];
        for (h, slot) in out.iter_mut().enumerate() {
            *slot = self.head(h, x);
        }
        HeadValues(out)
    }

    /// Evaluates one head: the logistic of its logit, or `e^logit` for the watch-time head.
    #[inline]
    pub fn head(&self, head: usize, x: &[Feature; FEATURES]) -> HeadValue {
        self.head_with::<PortableDot>(head, x)
    }

    /// [`Model::head`] with the multiply-accumulates computed by `D`.
    #[inline]
    pub fn head_with<D: Dot>(&self, head: usize, x: &[Feature; FEATURES]) -> HeadValue {
        Self::output(head, self.logit_with::<D>(head, x))
    }

    /// [`Model::logit`] with the multiply-accumulates computed by `D`.
    #[inline]
    pub fn logit_with<D: Dot>(&self, head: usize, x: &[Feature; FEATURES]) -> Logit {
        // `validate` proves the sum stays inside i32.
        Logit(D::dot(self.bias[head].0, x, &self.weights[head]))
    }

    /// [`Model::logit_with`] of features prepared by [`Dot::prepare`] (the scorer prepares
    /// them once for all the heads).
    ///
    /// ```
    /// use edgerank_core::model::{Dot, Model, PortableDot};
    /// use edgerank_core::num::Feature;
    /// let model = Model::default();
    /// let x = [Feature::ONE; 16];
    /// let prepared = PortableDot::prepare(&x);
    /// assert_eq!(model.logit_prepared::<PortableDot>(0, &prepared), model.logit(0, &x));
    /// ```
    #[inline]
    pub fn logit_prepared<D: Dot>(&self, head: usize, x: &D::Prepared) -> Logit {
        Logit(D::dot_prepared(self.bias[head].0, x, &self.weights[head]))
    }

    /// A head's output from its logit: the logistic, or `e^logit` for the watch-time head.
    #[inline]
    pub fn output(head: usize, logit: Logit) -> HeadValue {
        if head == Head::WatchTime.index() {
            exp(logit)
        } else {
            sigmoid(logit)
        }
    }

    /// `log2` of a head's output from its logit, in Q16 (what the scorer adds to the log of
    /// the head's weight): [`log2_sigmoid_q16`], or [`log2_exp_q16`] for the watch-time head.
    #[inline]
    pub fn log2_output_q16(head: usize, logit: Logit) -> i32 {
        if head == Head::WatchTime.index() {
            log2_exp_q16(logit)
        } else {
            log2_sigmoid_q16(logit)
        }
    }

    /// One head's logit: `bias + w · x`, exact in Q24.
    #[inline]
    pub fn logit(&self, head: usize, x: &[Feature; FEATURES]) -> Logit {
        // `validate` proves the sum stays inside i32 (wrapping ops keep the hot loop free of
        // overflow checks in debug builds too).
        Logit(PortableDot::dot(self.bias[head].0, x, &self.weights[head]))
    }

    /// Duration bucket of an item.
    #[inline]
    pub fn duration_bucket(&self, duration_ms: u32) -> usize {
        self.duration_bucket_upper_ms.iter().position(|&upper| duration_ms < upper).unwrap_or(DURATION_BUCKETS - 1)
    }

    /// Watch time at quantile `q` of the item's duration bucket (linear between grid points):
    /// turns the debiased head's output back into seconds.
    pub fn quantile_watch_time(&self, duration_ms: u32, q: Prob) -> WatchTime {
        let row = &self.watch_quantiles[self.duration_bucket(duration_ms)];
        // q in Q15 over 8 intervals: 4096 raw per interval.
        let pos = q.raw() as u32;
        let i = ((pos >> 12) as usize).min(QUANTILE_POINTS - 2);
        let frac = pos - ((i as u32) << 12);
        let lo = row[i].0 as u32;
        let hi = row[i + 1].0 as u32;
        WatchTime((lo + (((hi - lo) * frac) >> 12)) as u16)
    }

    /// Reads and validates a model blob (postcard with a trailing CRC-32).
    ///
    /// `#[inline]`, like the other loaders (`Profile::from_blob`, `UserState::restore_from_blob`)
    /// and what they call: it is compiled in the crate that calls it, with that crate's
    /// optimisation settings, so a firmware can build its loaders for size and the ranking path,
    /// which never calls them, for speed (`firmware/Cargo.toml`).
    #[inline]
    pub fn from_blob(bytes: &[u8]) -> Result<Self, BlobError> {
        let mut model = Model::EMPTY;
        model.decode_blob(bytes)?;
        Ok(model)
    }

    /// [`Model::from_blob`] into `self`: the blob is decoded and validated first, and replaces
    /// `self` only then (a refused blob leaves `self` as it was, and gives the error
    /// `from_blob` gives). The blob is decoded in place into one temporary model, so this takes
    /// about one model of stack; decoding a value with the derived `Deserialize` and returning
    /// it took several (a device loads models in its request loop).
    #[inline]
    pub fn replace_from_blob(&mut self, bytes: &[u8]) -> Result<(), BlobError> {
        let mut model = Model::EMPTY;
        model.decode_blob(bytes)?;
        *self = model;
        Ok(())
    }

    /// Decodes a blob into `self` and validates it (the checks of `wire::decode_checked`, then
    /// [`Model::validate`]). On error `self` may be partly written.
    #[inline]
    fn decode_blob(&mut self, bytes: &[u8]) -> Result<(), BlobError> {
        crate::wire::decode_checked_into(bytes, self)?;
        self.validate()
    }

    /// Every field zero: where a blob is decoded (not a valid model).
    const EMPTY: Model = Model {
        magic: [0; 4],
        format_version: 0,
        model_id: 0,
        weights: [[Weight(0); FEATURES]; HEADS],
        bias: [Logit(0); HEADS],
        duration_bucket_upper_ms: [0; DURATION_BUCKETS - 1],
        watch_quantiles: [[WatchTime(0); QUANTILE_POINTS]; DURATION_BUCKETS],
    };

    /// Writes the model as a blob into `buf`, returning the used prefix.
    pub fn to_blob<'b>(&self, buf: &'b mut [u8]) -> Result<&'b mut [u8], BlobError> {
        crate::wire::encode_checked(self, buf)
    }
}

impl crate::wire::DecodeInPlace for Model {
    fn decode_in_place<'de, D: Deserializer<'de>>(&mut self, deserializer: D) -> Result<(), D::Error> {
        InPlace(self).deserialize(deserializer)
    }
}

/// A model decoded field by field into its place, in declaration order (the derived impl's
/// sequence form: a struct is a tuple in postcard), the arrays element by element.
struct InPlace<'a>(&'a mut Model);

const MODEL_FIELDS: &[&str] =
    &["magic", "format_version", "model_id", "weights", "bias", "duration_bucket_upper_ms", "watch_quantiles"];

impl<'de> DeserializeSeed<'de> for InPlace<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_struct("Model", MODEL_FIELDS, self)
    }
}

impl<'de> Visitor<'de> for InPlace<'_> {
    type Value = ();

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("struct Model")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        // Every field, in declaration order (this stops compiling if one is added).
        let Model { magic, format_version, model_id, weights, bias, duration_bucket_upper_ms, watch_quantiles } =
            self.0;
        *magic = next(&mut seq, 0)?;
        *format_version = next(&mut seq, 1)?;
        *model_id = next(&mut seq, 2)?;
        next_in_place(&mut seq, 3, Array(weights))?;
        next_in_place(&mut seq, 4, Array(bias))?;
        next_in_place(&mut seq, 5, Array(duration_bucket_upper_ms))?;
        next_in_place(&mut seq, 6, Array(watch_quantiles))
    }
}

/// Largest encoded model blob, in bytes (an upper bound: every varint at its widest).
pub const MODEL_BLOB_MAX: usize = 4
    + 3
    + 5
    + HEADS * FEATURES * 3
    + HEADS * 5
    + (DURATION_BUCKETS - 1) * 5
    + DURATION_BUCKETS * QUANTILE_POINTS * 3
    + 4;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_model_is_valid_and_round_trips() {
        let m = Model::default();
        m.validate().expect("default model valid");
        let mut buf = [0u8; MODEL_BLOB_MAX];
        let len = m.to_blob(&mut buf).expect("fits").len();
        assert!(len <= MODEL_BLOB_MAX);
        let back = Model::from_blob(&buf[..len]).expect("decodes");
        assert_eq!(back, m);
    }

    #[test]
    fn corrupted_blob_is_rejected_not_panicking() {
        let m = Model::default();
        let mut buf = [0u8; MODEL_BLOB_MAX];
        let len = m.to_blob(&mut buf).expect("fits").len();
        for i in 0..len {
            let mut copy = buf;
            copy[i] ^= 0x5a;
            assert!(Model::from_blob(&copy[..len]).is_err(), "flip at {i} accepted");
        }
        for cut in 0..len {
            assert!(Model::from_blob(&buf[..cut]).is_err(), "truncation at {cut} accepted");
        }
    }

    /// The in-place decoder accepts exactly the blobs the derived decoder accepts, with the same
    /// errors, and `replace_from_blob` changes nothing on a refusal.
    #[test]
    fn in_place_decoding_matches_the_derived_decoder() {
        let derived = |b: &[u8]| crate::wire::decode_checked::<Model>(b).and_then(|m| m.validate().map(|()| m));
        let m = Model::default();
        let mut buf = [0u8; MODEL_BLOB_MAX];
        let len = m.to_blob(&mut buf).expect("fits").len();
        let check = |bytes: &[u8]| {
            let expected = derived(bytes);
            assert_eq!(Model::from_blob(bytes), expected);
            let mut active = Model { model_id: 7, ..Model::default() };
            let replaced = active.replace_from_blob(bytes);
            assert_eq!(replaced, expected.as_ref().map(|_| ()).map_err(|e| *e));
            match expected {
                Ok(model) => assert_eq!(active, model),
                Err(_) => assert_eq!(active, Model { model_id: 7, ..Model::default() }),
            }
        };
        check(&buf[..len]);
        // Content changes with a valid checksum: every byte changed, one dropped, one added.
        let mut content = [0u8; MODEL_BLOB_MAX + 1];
        let n = len - 4;
        for i in 0..n {
            for variant in 0..3 {
                let mut k = 0;
                for (j, &b) in buf[..n].iter().enumerate() {
                    match (variant, j == i) {
                        (0, true) => {
                            content[k] = b ^ 0x81;
                            k += 1;
                        }
                        (1, true) => {}
                        (2, true) => {
                            content[k] = 0x80;
                            content[k + 1] = b;
                            k += 2;
                        }
                        _ => {
                            content[k] = b;
                            k += 1;
                        }
                    }
                }
                let crc = crate::wire::CRC.checksum(&content[..k]).to_le_bytes();
                content[k..k + 4].copy_from_slice(&crc);
                check(&content[..k + 4]);
            }
        }
        for cut in 0..len {
            check(&buf[..cut]);
        }
    }

    #[test]
    fn validation_rejects_overflowing_weights_and_bad_tables() {
        let mut m = Model::default();
        m.weights[0] = [Weight(i16::MAX); FEATURES];
        assert_eq!(m.validate(), Err(BlobError::OutOfRange));
        let mut m = Model::default();
        m.bias[3] = Logit(MAX_BIAS_RAW + 1);
        assert_eq!(m.validate(), Err(BlobError::OutOfRange));
        let mut m = Model::default();
        m.duration_bucket_upper_ms[2] = m.duration_bucket_upper_ms[1];
        assert_eq!(m.validate(), Err(BlobError::OutOfRange));
        let mut m = Model::default();
        m.watch_quantiles[0][3] = WatchTime(0);
        m.watch_quantiles[0][4] = WatchTime(100);
        m.watch_quantiles[0][2] = WatchTime(200);
        assert_eq!(m.validate(), Err(BlobError::OutOfRange));
        let m = Model { format_version: 99, ..Model::default() };
        assert_eq!(m.validate(), Err(BlobError::UnsupportedVersion(99)));
    }

    #[test]
    fn extreme_features_cannot_overflow_a_valid_model() {
        // The largest-L1 valid rows, against the most negative and most positive i16
        // features with matching signs (the builder clamps to +-32,767; a caller may pass
        // i16::MIN).
        for sign in [1i16, -1] {
            let mut m = Model::default();
            let per = ((i32::MAX as i64 - 1) / 32_768 / FEATURES as i64) as i16;
            m.weights[0] = [Weight(sign * per); FEATURES];
            m.bias[0] = Logit(0);
            m.validate().expect("at the bound");
            for x in [Feature(i16::MIN), Feature(i16::MAX)] {
                let exact: i64 = FEATURES as i64 * (sign * per) as i64 * x.0 as i64;
                assert_eq!(m.logit(0, &[x; FEATURES]).0 as i64, exact);
            }
            // One more unit on every weight reaches 2^31 with i16::MIN features: refused.
            m.weights[0] = [Weight(sign * (per + 1)); FEATURES];
            assert_eq!(m.validate(), Err(BlobError::OutOfRange));
        }
    }

    #[test]
    fn quantile_lookup_interpolates_within_bucket() {
        let m = Model::default();
        let b = m.duration_bucket(15_000);
        let row = m.watch_quantiles[b];
        assert_eq!(m.quantile_watch_time(15_000, Prob::ZERO), row[0]);
        assert_eq!(m.quantile_watch_time(15_000, Prob::ONE), row[QUANTILE_POINTS - 1]);
        let mid = m.quantile_watch_time(15_000, Prob::from_f64(0.5));
        assert_eq!(mid, row[4]);
        assert_eq!(m.duration_bucket(u32::MAX), DURATION_BUCKETS - 1);
        assert_eq!(m.duration_bucket(0), 0);
    }
}
