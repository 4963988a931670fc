//! Posting schedules and items.

use edgerank_core::input::ContentKind;

use super::creators::{Creator, CreatorKind, Format};
use super::{diurnal, WorldParams, DAY, DIURNAL_MAX, HISTORY_DAYS, WORLD_TOPICS};
use crate::rng::{self, SimRng, Stream};

/// One posted item.
#[derive(Clone, Copy, Debug)]
pub struct Item {
    /// Creator index (the core's `author_id`).
    pub creator: u32,
    /// Posting time (core clock).
    pub created_at: u32,
    /// Video duration in ms (0 for text, images, links).
    pub duration_ms: u32,
    /// Content kind.
    pub kind: ContentKind,
    /// Topic.
    pub topic: u8,
    /// Latent quality.
    pub quality: f32,
    /// A paid placement (advertiser post or a creator's paid boost).
    pub sponsored: bool,
    /// The author's posting regularity when this was posted: 1 - coefficient of variation of
    /// the last (up to) 10 intervals between posts, in [0, 1]; 0 with fewer than 3 intervals.
    pub regularity: f32,
}

impl Item {
    /// Seconds a reader spends on a non-video item read "normally" (the dwell ratio's 1.0).
    pub fn expected_dwell_s(&self) -> f64 {
        match self.kind {
            ContentKind::Text => 8.0,
            ContentKind::Image => 5.0,
            ContentKind::Link => 12.0,
            _ => self.duration_ms as f64 / 1000.0,
        }
    }

    /// Seconds of content: the video's duration, or the expected dwell.
    pub fn content_s(&self) -> f64 {
        if self.kind.is_video() {
            (self.duration_ms as f64 / 1000.0).max(1.0)
        } else {
            self.expected_dwell_s()
        }
    }
}

fn pick_kind(r: &mut SimRng, format: Format) -> ContentKind {
    use ContentKind::*;
    let table: &[(ContentKind, f64)] = match format {
        Format::VideoFirst => &[(ShortVideo, 0.85), (LongVideo, 0.07), (Image, 0.05), (Text, 0.03)],
        Format::PhotoFirst => &[(Image, 0.7), (ShortVideo, 0.2), (Text, 0.1)],
        Format::TextFirst => &[(Text, 0.6), (Link, 0.25), (Image, 0.15)],
        Format::Spam => &[(ShortVideo, 0.4), (Link, 0.3), (Image, 0.3)],
    };
    let mut u = rng::unit(r);
    for (k, p) in table {
        if u < *p {
            return *k;
        }
        u -= p;
    }
    table[0].0
}

/// Duration of a video of the given kind, in ms: short videos log-normal around 22 s
/// (4 s to 3 min), long videos around 9 min (3 to 60 min).
pub fn duration_ms(r: &mut SimRng, kind: ContentKind) -> u32 {
    let s = match kind {
        ContentKind::ShortVideo => rng::lognormal(r, 22.0, 0.75).clamp(4.0, 180.0),
        ContentKind::LongVideo => rng::lognormal(r, 540.0, 0.6).clamp(180.0, 3_600.0),
        _ => 0.0,
    };
    (s * 1000.0).round() as u32
}

/// 1 - CV of the intervals (clamped to [0, 1]); 0 with fewer than 3 intervals.
pub fn regularity(times: &[u32]) -> f32 {
    if times.len() < 4 {
        return 0.0;
    }
    let iv: Vec<f64> = times.windows(2).map(|w| (w[1] - w[0]) as f64).collect();
    let mean = iv.iter().sum::<f64>() / iv.len() as f64;
    if mean <= 0.0 {
        return 0.0;
    }
    let var = iv.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / iv.len() as f64;
    (1.0 - var.sqrt() / mean).clamp(0.0, 1.0) as f32
}

/// Posting times of a creator over [from, to).
fn post_times(r: &mut SimRng, cr: &Creator, from: u32, to: u32) -> Vec<u32> {
    let mut times = Vec::new();
    if cr.period_s > 0 {
        let jitter = if cr.kind == CreatorKind::PostingBot { 60.0 } else { 600.0 };
        let mut t = from as u64 + cr.phase_s as u64;
        while t < to as u64 {
            let j = rng::uniform(r, -jitter, jitter);
            let at = (t as f64 + j).max(from as f64) as u32;
            if at < to {
                times.push(at);
            }
            t += cr.period_s as u64;
        }
    } else {
        // Poisson, following the daily rhythm (thinning).
        let rate_max = cr.posts_per_day * DIURNAL_MAX / DAY as f64;
        let mut t = from as f64;
        loop {
            t += rng::exponential(r, 1.0 / rate_max);
            if t >= to as f64 {
                break;
            }
            if rng::chance(r, diurnal(t as u32) / DIURNAL_MAX) {
                times.push(t as u32);
            }
        }
    }
    times.sort_unstable();
    times
}

/// Generates every item posted in [start, end) plus the creators' item lists.
pub fn generate(seed: u64, creators: &[Creator], p: &WorldParams, start: u32, end: u32) -> (Vec<Item>, Vec<Vec<u32>>) {
    let history_from = start - HISTORY_DAYS * DAY;
    let mut items: Vec<(Item, u32)> = Vec::new();
    for (c, cr) in creators.iter().enumerate() {
        let mut r = rng::rng_for(seed, Stream::Posts, c as u64, 0);
        let times = post_times(&mut r, cr, history_from, end);
        let first = times.partition_point(|&t| t < start);
        for (seq, i) in (first..times.len()).enumerate() {
            let u = rng::unit(&mut r);
            let topic = if u < 0.8 {
                cr.topics[0]
            } else if u < 0.95 {
                cr.topics[1]
            } else {
                rng::below(&mut r, WORLD_TOPICS) as u8
            };
            let kind = pick_kind(&mut r, cr.format);
            let duration_ms = duration_ms(&mut r, kind);
            let sponsored = match cr.kind {
                CreatorKind::Advertiser => true,
                CreatorKind::PostingBot | CreatorKind::FollowFarm => false,
                _ => rng::chance(&mut r, p.boost_share),
            };
            let quality = (cr.quality + 0.7 * rng::normal(&mut r)) as f32;
            let lo = i.saturating_sub(10);
            items.push((
                Item {
                    creator: c as u32,
                    created_at: times[i],
                    duration_ms,
                    kind,
                    topic,
                    quality,
                    sponsored,
                    regularity: regularity(&times[lo..=i]),
                },
                seq as u32,
            ));
        }
    }
    items.sort_by_key(|(it, seq)| (it.created_at, it.creator, *seq));
    let items: Vec<Item> = items.into_iter().map(|(it, _)| it).collect();
    let mut creator_items = vec![Vec::new(); creators.len()];
    for (id, it) in items.iter().enumerate() {
        creator_items[it.creator as usize].push(id as u32);
    }
    (items, creator_items)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regularity_separates_clockwork_from_poisson() {
        let clock: Vec<u32> = (0..11).map(|k| 1_000 + k * 7_200 + (k % 3) * 30).collect();
        assert!(regularity(&clock) > 0.95);
        let mut r = rng::rng_for(3, Stream::Posts, 0, 0);
        let mut t = 0f64;
        let poisson: Vec<u32> = (0..11)
            .map(|_| {
                t += rng::exponential(&mut r, 3_600.0);
                t as u32
            })
            .collect();
        assert!(regularity(&poisson) < 0.6, "{}", regularity(&poisson));
        assert_eq!(regularity(&[1, 2, 3]), 0.0);
    }
}
