//! Latency distributions drawn as a PNG for docs/performance.md: the CDF on
//! a log-scale latency axis beside its tail (the share of deliveries slower
//! than each latency, log-log, where p99 and beyond can be read), one line
//! per labelled distribution — per-message against single stream for S4,
//! our server against another one for S2.

use std::path::Path;

use hdrhistogram::Histogram;
use plotters::coord::combinators::WithKeyPoints;
use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::BenchError;
use crate::distribution::{self, CdfPoint};

/// Pixels, width × height.
const SIZE: (u32, u32) = (1400, 560);
/// The lines' colours, in the order of the distributions (they repeat after six).
const COLOURS: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(23, 190, 207),
];
/// The markers' colour (vertical dashed lines).
const MARKER: RGBColor = RGBColor(120, 120, 120);
/// The one font family the charts use; registered from the bytes below.
const FONT: &str = "sans-serif";

/// What the chart says besides its lines.
#[derive(Debug, Clone, Default)]
pub struct Chart {
    /// Above both panels.
    pub title: String,
    /// Vertical dashed lines, `(label, latency in ms)`, e.g. the latency floor.
    pub markers: Vec<(String, f64)>,
}

/// One distribution to draw.
#[derive(Debug, Clone, Copy)]
pub struct Line<'a> {
    /// Its name in the legend.
    pub label: &'a str,
    /// Its latencies, microseconds.
    pub hist: &'a Histogram<u64>,
}

/// Draws the CDF and tail of every line into a PNG at `path`.
pub fn cdf_png(path: &Path, chart: &Chart, lines: &[Line<'_>]) -> Result<(), BenchError> {
    let curves: Vec<(&str, Vec<CdfPoint>)> = lines
        .iter()
        .map(|line| (line.label, distribution::cdf_points(line.hist)))
        .filter(|(_, points)| !points.is_empty())
        .collect();
    if curves.is_empty() {
        return Err(BenchError::Invalid("no latencies to draw".into()));
    }
    let (x_range, tail_floor) = ranges(&curves, &chart.markers);
    // The fonts plotters could find on the system would differ between
    // machines (and need fontconfig); egui's built-in Ubuntu Light, already
    // a dependency of the app, draws the same everywhere.
    plotters::style::register_font(FONT, FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT)
        .map_err(|_| BenchError::Plot("the built-in font was not accepted".into()))?;

    let (width, height) = SIZE;
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let root = root.titled(&chart.title, (FONT, 24)).map_err(drawing)?;
        let (left, right) = root.split_horizontally(width / 2);

        let mut cdf = ChartBuilder::on(&left)
            .margin(16)
            .caption("CDF", (FONT, 18))
            .x_label_area_size(48)
            .y_label_area_size(64)
            .build_cartesian_2d(latency_axis(&x_range), 0.0..1.0)
            .map_err(drawing)?;
        cdf.configure_mesh()
            .x_desc("latency, ms (log scale)")
            .y_desc("fraction of deliveries at or below")
            .x_label_formatter(&|v| number(*v))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(drawing)?;
        for (i, (label, points)) in curves.iter().enumerate() {
            let style = COLOURS[i % COLOURS.len()].stroke_width(2);
            cdf.draw_series(LineSeries::new(
                points.iter().map(|p| (p.ms, p.at_or_below)),
                style,
            ))
            .map_err(drawing)?
            .label(*label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        }
        for (label, ms) in &chart.markers {
            cdf.draw_series(DashedLineSeries::new(
                [(*ms, 0.0), (*ms, 1.0)],
                6,
                4,
                MARKER.stroke_width(1),
            ))
            .map_err(drawing)?
            .label(label.as_str())
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], MARKER.stroke_width(1)));
        }
        cdf.configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .label_font((FONT, 15))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(drawing)?;

        let mut tail = ChartBuilder::on(&right)
            .margin(16)
            .caption("tail: share of deliveries slower than x", (FONT, 18))
            .x_label_area_size(48)
            .y_label_area_size(72)
            .build_cartesian_2d(latency_axis(&x_range), (tail_floor..1.0).log_scale())
            .map_err(drawing)?;
        tail.configure_mesh()
            .x_desc("latency, ms (log scale)")
            .y_desc("share slower (log scale)")
            .x_label_formatter(&|v| number(*v))
            .y_label_formatter(&|v| format!("{} %", number(*v * 100.0)))
            .label_style((FONT, 14))
            .axis_desc_style((FONT, 15))
            .draw()
            .map_err(drawing)?;
        for (i, (label, points)) in curves.iter().enumerate() {
            let style = COLOURS[i % COLOURS.len()].stroke_width(2);
            tail.draw_series(LineSeries::new(
                points
                    .iter()
                    .filter(|p| p.above > 0.0)
                    .map(|p| (p.ms, p.above)),
                style,
            ))
            .map_err(drawing)?
            .label(*label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], style));
        }
        for (_, ms) in &chart.markers {
            tail.draw_series(DashedLineSeries::new(
                [(*ms, tail_floor), (*ms, 1.0)],
                6,
                4,
                MARKER.stroke_width(1),
            ))
            .map_err(drawing)?;
        }
        tail.configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .label_font((FONT, 15))
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(drawing)?;
        root.present().map_err(drawing)?;
    }
    image::save_buffer_with_format(
        path,
        &pixels,
        width,
        height,
        image::ExtendedColorType::Rgb8,
        image::ImageFormat::Png,
    )
    .map_err(|e| BenchError::Plot(format!("writing {}: {e}", path.display())))
}

/// The latency axis (ms) covering every point and marker with a margin, and
/// the tail axis's lowest share: the power of ten at or below the smallest
/// non-zero share, so the slowest delivery of every line is on the chart.
fn ranges(
    curves: &[(&str, Vec<CdfPoint>)],
    markers: &[(String, f64)],
) -> (std::ops::Range<f64>, f64) {
    let all = curves.iter().flat_map(|(_, points)| points);
    let mut lo = f64::MAX;
    let mut hi = f64::MIN;
    let mut smallest = 1.0f64;
    for p in all {
        lo = lo.min(p.ms);
        hi = hi.max(p.ms);
        if p.above > 0.0 {
            smallest = smallest.min(p.above);
        }
    }
    for (_, ms) in markers {
        lo = lo.min(*ms);
        hi = hi.max(*ms);
    }
    // A log axis cannot start at zero (a 0 µs sample); 10 µs is far below
    // anything a network delivery takes.
    let lo = (lo / 1.25).max(0.01);
    let hi = (hi * 1.25).max(lo * 10.0);
    let floor = 10f64.powf(smallest.log10().floor()).clamp(1e-7, 0.1);
    (lo..hi, floor)
}

/// A log-scale latency axis labelled at 1, 2, 3 and 5 of every decade (a
/// plain log axis labels only powers of ten, which leaves a 15–90 ms chart
/// with one label), with light grid lines at every whole multiple.
fn latency_axis(range: &std::ops::Range<f64>) -> WithKeyPoints<LogCoord<f64>> {
    range
        .clone()
        .log_scale()
        .with_key_points(log_ticks(range, &[1.0, 2.0, 3.0, 5.0]))
        .with_light_points(log_ticks(
            range,
            &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0],
        ))
}

/// The values `m × 10^k` within `range` for every mantissa `m`, ascending.
fn log_ticks(range: &std::ops::Range<f64>, mantissas: &[f64]) -> Vec<f64> {
    let mut ticks = Vec::new();
    if !(range.start > 0.0 && range.end > range.start && range.end.is_finite()) {
        return ticks;
    }
    let mut decade = 10f64.powf(range.start.log10().floor());
    while decade <= range.end {
        for m in mantissas {
            let v = m * decade;
            if range.contains(&v) {
                ticks.push(v);
            }
        }
        decade *= 10.0;
    }
    ticks
}

/// A tick label: as few decimals as the value needs (0.01, 0.5, 2, 150).
fn number(v: f64) -> String {
    if v <= 0.0 || !v.is_finite() {
        return "0".into();
    }
    let decimals = (-v.log10().floor()).max(0.0) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

fn drawing<E: std::error::Error + Send + Sync>(
    e: plotters::drawing::DrawingAreaErrorKind<E>,
) -> BenchError {
    BenchError::Plot(e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::stats;

    #[test]
    fn tick_labels_use_the_decimals_they_need() {
        assert_eq!(number(150.0), "150");
        assert_eq!(number(2.0), "2");
        assert_eq!(number(0.5), "0.5");
        assert_eq!(number(0.01), "0.01");
        assert_eq!(number(0.0), "0");
    }

    #[test]
    fn log_ticks_repeat_their_mantissas_in_every_decade() {
        let ticks = log_ticks(&(15.0..120.0), &[1.0, 2.0, 5.0]);
        let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
        assert_eq!(ticks.len(), 3, "{ticks:?}");
        for (got, want) in ticks.iter().zip([20.0, 50.0, 100.0]) {
            assert!(close(*got, want), "{ticks:?}");
        }
        assert!(log_ticks(&(0.0..10.0), &[1.0]).is_empty());
    }

    #[test]
    fn the_axes_cover_every_point_and_marker() {
        let mut hist = stats::new_histogram();
        for us in [20_000, 21_000, 80_000] {
            hist.record(us).unwrap();
        }
        let curves = vec![("a", distribution::cdf_points(&hist))];
        let (x, floor) = ranges(&curves, &[("floor".into(), 5.0)]);
        assert!(x.start < 5.0 && x.end > 80.0, "{x:?}");
        // The smallest non-zero tail share is 1/3: the axis starts at 10 %.
        assert!((floor - 0.1).abs() < 1e-12, "{floor}");
    }

    #[test]
    fn draws_a_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cdf.png");
        let (mut a, mut b) = (stats::new_histogram(), stats::new_histogram());
        for i in 0..1_000u64 {
            a.record(20_000 + i * 7).unwrap();
            b.record(20_000 + (i % 100) * 600).unwrap();
        }
        let chart = Chart {
            title: "test".into(),
            markers: vec![("floor + 10 ms".into(), 30.0)],
        };
        let lines = [
            Line {
                label: "a",
                hist: &a,
            },
            Line {
                label: "b",
                hist: &b,
            },
        ];
        cdf_png(&path, &chart, &lines).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "not a PNG");
        let empty = stats::new_histogram();
        let nothing = [Line {
            label: "empty",
            hist: &empty,
        }];
        assert!(cdf_png(&path, &chart, &nothing).is_err());
    }
}
