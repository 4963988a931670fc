//! SVG plots with plotters' SVG backend (text is written as SVG `<text>`; no fonts needed).
//!
//! - `metrics.svg`: one horizontal bar chart per headline metric, policies as bars;
//! - `watch_along_session.svg`: mean cumulative watch time by position in the session;
//! - `reach_first_hours.svg`: mean cumulative impressions of an item by hours since posting
//!   (all organic items, and small honest creators' items);
//! - `inauthentic_by_kind.svg`: top-10 share of inauthentic items by kind, stacked.

use std::path::{Path, PathBuf};

use plotters::coord::ranged1d::SegmentValue;
use plotters::prelude::*;

use crate::sim::Summary;

type PlotResult<T> = Result<T, Box<dyn std::error::Error>>;

fn color(i: usize) -> RGBColor {
    // Colour-blind-friendly palette (Okabe-Ito plus greys), then Palette99.
    const C: [(u8, u8, u8); 10] = [
        (0, 114, 178),
        (230, 159, 0),
        (0, 158, 115),
        (213, 94, 0),
        (86, 180, 233),
        (204, 121, 167),
        (240, 228, 66),
        (0, 0, 0),
        (120, 120, 120),
        (170, 50, 50),
    ];
    if i < C.len() {
        RGBColor(C[i].0, C[i].1, C[i].2)
    } else {
        let c = Palette99::pick(i).to_rgba();
        RGBColor(c.0, c.1, c.2)
    }
}

use super::csv::Getter;

/// Headline metrics drawn in `metrics.svg`: (title, getter).
fn headline() -> Vec<(&'static str, Getter)> {
    vec![
        ("watch time per session (s)", |m| m.watch_time_per_session_s),
        ("completion rate", |m| m.completion_rate),
        ("engagements per session", |m| m.engagements_per_session),
        ("negative feedback rate", |m| m.negative_rate),
        ("NDCG@10 vs ground truth", |m| m.ndcg_at_10),
        ("XAUC of watch-time head", |m| m.xauc),
        ("distinct authors in top 10", |m| m.distinct_authors_top10),
        ("Gini of creator exposure", |m| m.creator_exposure_gini),
        ("small-creator reach", |m| m.small_creator_reach),
        ("inauthentic share of top 10", |m| m.inauthentic_top10_share),
        ("ad load", |m| m.ad_load),
        ("satisfaction per impression", |m| m.satisfaction_per_impression),
    ]
}

fn bars(
    area: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    title: &str,
    names: &[String],
    values: &[f64],
) -> PlotResult<()> {
    let n = names.len();
    let max = values.iter().copied().fold(0.0f64, f64::max);
    let hi = if max > 0.0 { max * 1.15 } else { 1.0 };
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 16))
        .margin(6)
        .x_label_area_size(22)
        .y_label_area_size(130)
        // An integer range holds both ends: `0..n - 1` is the n rows.
        .build_cartesian_2d(0f64..hi, (0..n.saturating_sub(1)).into_segmented())?;
    // The first policy at the top.
    let row = |i: usize| n - 1 - i;
    let label = |v: &SegmentValue<usize>| match v {
        SegmentValue::CenterOf(i) | SegmentValue::Exact(i) if *i < n => names[row(*i)].clone(),
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_y_mesh()
        .y_labels(n)
        .y_label_formatter(&label)
        .x_labels(5)
        .label_style(("sans-serif", 11))
        .draw()?;
    let values: Vec<(usize, f64)> = values.iter().enumerate().map(|(i, &v)| (row(i), v)).collect();
    chart.draw_series(values.iter().map(|&(i, v)| {
        let mut r = Rectangle::new(
            [(0.0, SegmentValue::Exact(i)), (v.max(0.0), SegmentValue::Exact(i + 1))],
            color(n - 1 - i).filled(),
        );
        r.set_margin(3, 3, 0, 0);
        r
    }))?;
    chart.draw_series(values.iter().map(|&(i, v)| {
        Text::new(
            if v.abs() >= 100.0 {
                format!("{v:.0}")
            } else if v.abs() >= 1.0 {
                format!("{v:.2}")
            } else {
                format!("{v:.3}")
            },
            (v.max(0.0) + hi * 0.01, SegmentValue::CenterOf(i)),
            ("sans-serif", 10).into_font(),
        )
    }))?;
    Ok(())
}

fn lines(
    path: &Path,
    title: &str,
    x_desc: &str,
    y_desc: &str,
    series: &[(String, Vec<f64>, bool)],
    x_from: f64,
) -> PlotResult<()> {
    let root = SVGBackend::new(path, (1000, 620)).into_drawing_area();
    root.fill(&WHITE)?;
    let len = series.iter().map(|s| s.1.len()).max().unwrap_or(1).max(2);
    let max = series.iter().flat_map(|s| s.1.iter().copied()).fold(0.0f64, f64::max);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 20))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(x_from..x_from + (len - 1) as f64, 0f64..(max * 1.08).max(1e-9))?;
    chart.configure_mesh().x_desc(x_desc).y_desc(y_desc).label_style(("sans-serif", 12)).draw()?;
    for (i, (name, ys, dashed)) in series.iter().enumerate() {
        let c = color(i);
        let pts: Vec<(f64, f64)> = ys.iter().enumerate().map(|(x, y)| (x_from + x as f64, *y)).collect();
        let style = c.stroke_width(2);
        if *dashed {
            chart
                .draw_series(DashedLineSeries::new(pts, 6, 4, style))?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        } else {
            chart
                .draw_series(LineSeries::new(pts, style))?
                .label(name.clone())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 18, y)], c.stroke_width(2)));
        }
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(("sans-serif", 12))
        .draw()?;
    root.present()?;
    Ok(())
}

/// Writes every plot into `dir`.
pub fn write(s: &Summary, dir: &Path) -> PlotResult<Vec<PathBuf>> {
    let mut out = Vec::new();
    let names: Vec<String> = s.policies.iter().map(|m| m.name.clone()).collect();

    let path = dir.join("metrics.svg");
    {
        let metrics = headline();
        let cols = 3;
        let rows = metrics.len().div_ceil(cols);
        let root = SVGBackend::new(&path, (1500, 330 * rows as u32)).into_drawing_area();
        root.fill(&WHITE)?;
        let areas = root.split_evenly((rows, cols));
        for ((title, get), area) in metrics.iter().zip(areas.iter()) {
            let values: Vec<f64> = s.policies.iter().map(get).collect();
            bars(area, title, &names, &values)?;
        }
        root.present()?;
    }
    out.push(path);

    let path = dir.join("watch_along_session.svg");
    let shown = 60;
    let series: Vec<(String, Vec<f64>, bool)> = s
        .policies
        .iter()
        .map(|m| {
            (m.name.clone(), m.watch_along_session_s.iter().take(shown).copied().collect(), m.refresh == "per_session")
        })
        .collect();
    lines(
        &path,
        "Watch time along a session",
        "items into the session",
        "mean cumulative watch time per session (s)",
        &series,
        1.0,
    )?;
    out.push(path);

    let path = dir.join("reach_first_hours.svg");
    let mut series: Vec<(String, Vec<f64>, bool)> = Vec::new();
    for m in &s.policies {
        series.push((m.name.clone(), m.reach_first_hours.clone(), false));
    }
    lines(
        &path,
        "Reach over an item's first hours (organic items)",
        "hours since posting",
        "mean cumulative impressions per item",
        &series,
        1.0,
    )?;
    out.push(path);

    let path = dir.join("reach_first_hours_small.svg");
    let series: Vec<(String, Vec<f64>, bool)> =
        s.policies.iter().map(|m| (m.name.clone(), m.reach_first_hours_small.clone(), false)).collect();
    lines(
        &path,
        "Reach over the first hours: small honest creators (<= 1000 followers)",
        "hours since posting",
        "mean cumulative impressions per item",
        &series,
        1.0,
    )?;
    out.push(path);

    let path = dir.join("inauthentic_by_kind.svg");
    {
        let root = SVGBackend::new(&path, (1000, 560)).into_drawing_area();
        root.fill(&WHITE)?;
        let n = names.len();
        let kinds: Vec<String> =
            s.policies.first().map(|m| m.inauthentic_top10_by_kind.keys().cloned().collect()).unwrap_or_default();
        let max = s.policies.iter().map(|m| m.inauthentic_top10_share).fold(0.0f64, f64::max);
        let mut chart = ChartBuilder::on(&root)
            .caption("Inauthentic items in the top 10, by kind", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(140)
            .build_cartesian_2d(0f64..(max * 1.15).max(1e-6), (0..n.saturating_sub(1)).into_segmented())?;
        let row = |i: usize| n - 1 - i;
        let label = |v: &SegmentValue<usize>| match v {
            SegmentValue::CenterOf(i) | SegmentValue::Exact(i) if *i < n => names[row(*i)].clone(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&label)
            .x_desc("share of top-10 positions")
            .label_style(("sans-serif", 12))
            .draw()?;
        for (k, kind) in kinds.iter().enumerate() {
            let c = color(k);
            let rects: Vec<Rectangle<(f64, SegmentValue<usize>)>> = s
                .policies
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let before: f64 = kinds[..k].iter().map(|kk| m.inauthentic_top10_by_kind[kk]).sum();
                    let v = m.inauthentic_top10_by_kind[kind];
                    // Policy i on the row its name labels (the first at the top).
                    let y = row(i);
                    let mut r = Rectangle::new(
                        [(before, SegmentValue::Exact(y)), (before + v, SegmentValue::Exact(y + 1))],
                        c.filled(),
                    );
                    r.set_margin(4, 4, 0, 0);
                    r
                })
                .collect();
            chart
                .draw_series(rects)?
                .label(kind.clone())
                .legend(move |(x, y)| Rectangle::new([(x, y - 5), (x + 14, y + 5)], c.filled()));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font(("sans-serif", 12))
            .draw()?;
        root.present()?;
    }
    out.push(path);
    Ok(out)
}
