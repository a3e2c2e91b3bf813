//! The dashboard's charts, drawn on the server (issue 21): the geometry of a column chart (one
//! column a day) and of a horizontal bar chart (top tags), computed here and written out as
//! inline SVG by `templates/macros/charts.html.tera`. Tera escapes every text (tag names are
//! user input); no JavaScript, no colours here (the SVG paints with `currentColor` and the
//! stylesheet's custom properties, so a dark theme recolours it).

use serde::Serialize;

/// Width of every chart's view box (it scales to its container).
pub const WIDTH: f64 = 640.0;

/// Room left of a column chart's plot for the axis labels.
const AXIS_ROOM: f64 = 48.0;
/// Room under a column chart's plot for the day labels.
const LABEL_ROOM: f64 = 24.0;
/// Room above the plot (half a label sticks out above the top line).
const TOP_ROOM: f64 = 8.0;
/// Room right of the plot (half of the newest day's label, which is centred under its column).
const RIGHT_ROOM: f64 = 28.0;
/// Height of a column chart's plot.
const PLOT_HEIGHT: f64 = 160.0;
/// Share of a day's slot its column fills.
const COLUMN_FILL: f64 = 0.7;

/// Height of one bar's row in a bar chart, and of the bar in it.
const ROW: f64 = 26.0;
const BAR: f64 = 18.0;
/// Room for the names left of the bars, and for the counts right of them.
const NAME_ROOM: f64 = 170.0;
const VALUE_ROOM: f64 = 48.0;
/// Longest name shown in full beside a bar (the table and the bar's tooltip have it all).
const NAME_CHARS: usize = 20;

/// A point of a series: its label (a date `YYYY-MM-DD`, a tag name) and value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Point {
    /// What the value is of.
    pub label: String,
    /// The value (a count: never negative).
    pub value: i64,
}

/// A line across the plot at a value, with its label.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Tick {
    /// Height in the view box.
    pub y: f64,
    /// The value it marks.
    pub value: i64,
}

/// One column or bar.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Bar {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height.
    pub height: f64,
    /// The point's label, in full.
    pub label: String,
    /// The label as drawn (a day as `Nov 30`; a long name shortened).
    pub short: String,
    /// The value.
    pub value: i64,
    /// Whether the label is drawn under the column (a column chart labels a few days only).
    pub labelled: bool,
    /// Where the label or the value is drawn: its x (a column's middle, a bar's end) and y.
    pub text_x: f64,
    /// See `text_x`.
    pub text_y: f64,
}

/// A chart ready to draw: its view box, the bars and the value axis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Chart {
    /// `id` of the figure (for `aria-labelledby` and the table's caption).
    pub id: String,
    /// Its name: the SVG's accessible name and the figure's caption.
    pub title: String,
    /// What it shows in words (the total and the highest point), for screen readers.
    pub summary: String,
    /// Heading of the label column in the table.
    pub label_heading: String,
    /// Heading of the value column in the table.
    pub value_heading: String,
    /// View box width.
    pub width: f64,
    /// View box height.
    pub height: f64,
    /// The value at the top of the axis (a round number at least the highest value, at least 1).
    pub max: i64,
    /// The plot's edges: left, right, top, bottom.
    pub left: f64,
    /// See `left`.
    pub right: f64,
    /// See `left`.
    pub top: f64,
    /// See `left`.
    pub bottom: f64,
    /// Value lines of a column chart (none for a bar chart).
    pub ticks: Vec<Tick>,
    /// The columns or bars, in the order of the points.
    pub bars: Vec<Bar>,
}

/// The smallest of 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, ... that is at least `max` (1 for nothing
/// at all), so the axis ends on a round number and the tallest column fills most of the plot.
pub fn axis_max(max: i64) -> i64 {
    let mut step = 1_i64;
    loop {
        for nice in [1, 2, 3, 4, 5, 6, 8].map(|m: i64| step.saturating_mul(m)) {
            if nice >= max {
                return nice;
            }
        }
        if step > i64::MAX / 10 {
            return max;
        }
        step *= 10;
    }
}

/// `part` of `whole` (a value of the axis's `max`) as a length of `span`, to a tenth.
fn scale(part: i64, whole: i64, span: f64) -> f64 {
    round(span * float(part.max(0)) / float(whole.max(1)))
}

/// `n` as a float: counts and indexes, far inside `i32` (a larger one is drawn as `i32::MAX`).
fn float(n: impl TryInto<i32>) -> f64 {
    f64::from(n.try_into().unwrap_or(i32::MAX))
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

/// `2026-11-30` as `Nov 30` (other text as it is).
fn short_day(date: &str) -> String {
    chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .map_or_else(|_| date.to_owned(), |d| d.format("%b %-d").to_string())
}

/// `name` cut to [`NAME_CHARS`] characters (an ellipsis marking the cut).
fn short_name(name: &str) -> String {
    if name.chars().count() <= NAME_CHARS {
        name.to_owned()
    } else {
        let cut: String = name.chars().take(NAME_CHARS - 1).collect();
        format!("{cut}…")
    }
}

/// Words for screen readers: `total` in all, the highest point (the first of equals).
fn summary(points: &[Point], unit: &str) -> String {
    let total: i64 = points.iter().map(|p| p.value).sum();
    match points.iter().rev().max_by_key(|p| p.value) {
        Some(top) if top.value > 0 => format!(
            "{total} {unit} in all; the most, {}, on {}.",
            top.value, top.label
        ),
        _ => format!("No {unit}."),
    }
}

/// Names and headings of a chart.
pub struct Labels<'a> {
    /// The figure's `id`.
    pub id: &'a str,
    /// Its name.
    pub title: &'a str,
    /// What the values count, plural (`sign-ups`).
    pub unit: &'a str,
    /// Heading of the label column in the table.
    pub label_heading: &'a str,
    /// Heading of the value column in the table.
    pub value_heading: &'a str,
}

/// A column chart of a daily series: one column a day, oldest on the left, days without
/// activity as columns of no height (present, so every day has its column and its row).
pub fn columns(labels: &Labels<'_>, points: &[Point]) -> Chart {
    let (left, right) = (AXIS_ROOM, WIDTH - RIGHT_ROOM);
    let (top, bottom) = (TOP_ROOM, TOP_ROOM + PLOT_HEIGHT);
    let max = axis_max(points.iter().map(|p| p.value).max().unwrap_or(0));
    let slot = (right - left) / float(points.len().max(1));
    let width = round((slot * COLUMN_FILL).max(1.0));
    // Label about six days whatever the range, always including the newest.
    let every = if points.len() <= 7 {
        1
    } else {
        points.len().div_ceil(6)
    };
    let bars = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let height = scale(p.value, max, PLOT_HEIGHT);
            let middle = left + slot * (float(i) + 0.5);
            Bar {
                x: round(middle - width / 2.0),
                y: round(bottom - height),
                width,
                height,
                label: p.label.clone(),
                short: short_day(&p.label),
                value: p.value,
                labelled: (points.len() - 1 - i).is_multiple_of(every),
                text_x: round(middle),
                text_y: bottom + 18.0,
            }
        })
        .collect();
    let mut ticks = vec![Tick {
        y: bottom,
        value: 0,
    }];
    if max % 2 == 0 {
        ticks.push(Tick {
            y: round(bottom - PLOT_HEIGHT / 2.0),
            value: max / 2,
        });
    }
    ticks.push(Tick { y: top, value: max });
    Chart {
        id: labels.id.to_owned(),
        title: labels.title.to_owned(),
        summary: summary(points, labels.unit),
        label_heading: labels.label_heading.to_owned(),
        value_heading: labels.value_heading.to_owned(),
        width: WIDTH,
        height: bottom + LABEL_ROOM,
        max,
        left,
        right,
        top,
        bottom,
        ticks,
        bars,
    }
}

/// A horizontal bar chart (the top tags): one bar a point, top to bottom in the given order,
/// the name left of its bar and the count right of it.
pub fn bars(labels: &Labels<'_>, points: &[Point]) -> Chart {
    let (left, right) = (NAME_ROOM, WIDTH - VALUE_ROOM);
    let max = points.iter().map(|p| p.value).max().unwrap_or(0).max(1);
    let bars = points
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let y = round(TOP_ROOM + ROW * float(i));
            let width = scale(p.value, max, right - left);
            Bar {
                x: left,
                y,
                width,
                height: BAR,
                label: p.label.clone(),
                short: short_name(&p.label),
                value: p.value,
                labelled: true,
                text_x: round(left + width + 6.0),
                text_y: round(y + BAR / 2.0 + 5.0),
            }
        })
        .collect();
    Chart {
        id: labels.id.to_owned(),
        title: labels.title.to_owned(),
        summary: summary(points, labels.unit),
        label_heading: labels.label_heading.to_owned(),
        value_heading: labels.value_heading.to_owned(),
        width: WIDTH,
        height: TOP_ROOM * 2.0 + ROW * float(points.len()),
        max,
        left,
        right,
        top: TOP_ROOM,
        bottom: TOP_ROOM + ROW * float(points.len()),
        ticks: Vec::new(),
        bars,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(values: &[i64]) -> Vec<Point> {
        values
            .iter()
            .enumerate()
            .map(|(i, v)| Point {
                label: format!("2026-11-{:02}", i + 1),
                value: *v,
            })
            .collect()
    }

    const LABELS: Labels<'static> = Labels {
        id: "c",
        title: "T",
        unit: "things",
        label_heading: "Day",
        value_heading: "Things",
    };

    #[test]
    fn the_axis_ends_on_a_round_number_at_least_the_highest_value() {
        let cases = [
            (0, 1),
            (1, 1),
            (2, 2),
            (3, 3),
            (7, 8),
            (9, 10),
            (11, 20),
            (27, 30),
            (61, 80),
            (99, 100),
            (101, 200),
            (4999, 5000),
            (8001, 10000),
        ];
        for (max, axis) in cases {
            assert_eq!(axis_max(max), axis, "{max}");
        }
        assert!(axis_max(i64::MAX) >= i64::MAX / 2);
    }

    #[test]
    fn column_heights_are_their_share_of_the_axis() {
        let chart = columns(&LABELS, &points(&[0, 5, 10, 2]));
        assert_eq!(chart.max, 10);
        let heights: Vec<f64> = chart.bars.iter().map(|b| b.height).collect();
        assert_eq!(heights, vec![0.0, 80.0, 160.0, 32.0]);
        for bar in &chart.bars {
            assert!(
                (bar.y + bar.height - chart.bottom).abs() < 0.01,
                "columns stand on the axis"
            );
            assert!(bar.x >= chart.left && bar.x + bar.width <= chart.right);
        }
        assert_eq!(
            chart.ticks.iter().map(|t| t.value).collect::<Vec<_>>(),
            vec![0, 5, 10]
        );
        assert_eq!(
            chart.summary,
            "17 things in all; the most, 10, on 2026-11-03."
        );
    }

    #[test]
    fn an_empty_series_draws_empty_columns_for_every_day() {
        let chart = columns(&LABELS, &points(&[0; 30]));
        assert_eq!(chart.bars.len(), 30);
        assert!(chart.bars.iter().all(|b| b.height == 0.0));
        assert_eq!(chart.max, 1);
        assert_eq!(chart.summary, "No things.");
        // About six day labels, the newest day always among them.
        let labelled: Vec<usize> = (0..30).filter(|i| chart.bars[*i].labelled).collect();
        assert_eq!(labelled, vec![4, 9, 14, 19, 24, 29]);
        assert_eq!(chart.bars[29].short, "Nov 30");
    }

    #[test]
    fn bars_are_as_long_as_their_share_of_the_longest() {
        let tags = vec![
            Point {
                label: "rust".into(),
                value: 8,
            },
            Point {
                label: "a-very-long-tag-name-indeed".into(),
                value: 2,
            },
        ];
        let chart = bars(&LABELS, &tags);
        let widths: Vec<f64> = chart.bars.iter().map(|b| b.width).collect();
        assert_eq!(
            widths,
            vec![
                chart.right - chart.left,
                round((chart.right - chart.left) / 4.0)
            ]
        );
        assert_eq!(chart.bars[1].short, "a-very-long-tag-nam…");
        assert_eq!(chart.bars[1].label, "a-very-long-tag-name-indeed");
        assert!(chart.bars[1].y > chart.bars[0].y, "top to bottom in order");
        assert!(chart.height >= chart.bars[1].y + chart.bars[1].height);
    }
}
