//! The dashboard's numbers (issue 21), shared by the page (`/admin`) and the JSON
//! (`GET /api/admin/stats`): the totals, what changed in the last 7 days, a per-day series of
//! sign-ups, articles and comments over a chosen range, and the top tags.
//!
//! Days are UTC days, oldest first, and the range ends with today (so today's entry grows
//! through the day): `?days=30` is today and the 29 days before it.

use chrono::{Duration, NaiveDate};
use serde::Serialize;

use crate::admin::charts::{self, Chart, Labels, Point};
use crate::db::admin::stats::{self, Changes, Series};
use crate::db::admin::Counts;
use crate::db::DbPool;
use crate::error::{AppError, FieldErrors};

/// The ranges the dashboard offers, in days.
pub const RANGES: [i64; 3] = [7, 30, 90];
/// The range when none is asked for.
pub const DEFAULT_RANGE: i64 = 30;
/// The days the stat cards' changes cover (today included).
pub const CHANGE_DAYS: i64 = 7;
/// How many tags the top tags list holds.
pub const TOP_TAGS: i64 = 10;

/// `?days=`: one of [`RANGES`], [`DEFAULT_RANGE`] when absent; anything else is a 422 naming
/// `days` (a range the dashboard does not offer is a mistake to point out, not to guess at).
pub fn parse_days(days: Option<&str>) -> Result<i64, AppError> {
    let Some(days) = days else {
        return Ok(DEFAULT_RANGE);
    };
    days.trim()
        .parse::<i64>()
        .ok()
        .filter(|d| RANGES.contains(d))
        .ok_or_else(|| AppError::Invalid(FieldErrors::one("days", "must be one of 7, 30 or 90")))
}

/// One UTC day of the series.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Day {
    /// `YYYY-MM-DD`.
    #[schema(format = Date)]
    pub date: String,
    /// Accounts created that day.
    pub signups: i64,
    /// Articles written that day.
    pub articles: i64,
    /// Comments written that day.
    pub comments: i64,
}

/// A tag and the number of articles filed under it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct TagCount {
    /// The tag's name.
    pub tag: String,
    /// Its articles.
    pub count: i64,
}

/// Everything the dashboard shows (and `GET /api/admin/stats` answers).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// The range, in days.
    pub days: i64,
    /// The totals.
    pub counts: Counts,
    /// What changed in the last [`CHANGE_DAYS`] days, today included.
    pub last_seven_days: Changes,
    /// Exactly `days` entries, oldest first, ending today.
    pub daily: Vec<Day>,
    /// The most used tags, most used first (ties by name), at most [`TOP_TAGS`].
    pub top_tags: Vec<TagCount>,
}

/// The `days` UTC days ending with `today`, oldest first.
fn range(today: NaiveDate, days: i64) -> impl Iterator<Item = NaiveDate> {
    let first = today - Duration::days(days - 1);
    first.iter_days().take(usize::try_from(days).unwrap_or(0))
}

/// The value of each day of `dates` in `rows` (`(YYYY-MM-DD, n)`), zero for a day not there.
fn fill(dates: &[String], rows: &[(String, i64)]) -> Vec<i64> {
    dates
        .iter()
        .map(|d| rows.iter().find(|(day, _)| day == d).map_or(0, |(_, n)| *n))
        .collect()
}

/// The dashboard's numbers for a range of `days` ending with `today` (UTC).
pub async fn load(db: &DbPool, days: i64, today: NaiveDate) -> Result<Stats, AppError> {
    let dates: Vec<String> = range(today, days).map(|d| d.to_string()).collect();
    let first = today - Duration::days(days - 1);
    let mut series = Vec::with_capacity(Series::ALL.len());
    for s in Series::ALL {
        series.push(fill(&dates, &stats::per_day(db, s, first, today).await?));
    }
    let daily = dates
        .iter()
        .enumerate()
        .map(|(i, date)| Day {
            date: date.clone(),
            signups: series[0][i],
            articles: series[1][i],
            comments: series[2][i],
        })
        .collect();
    let since = today - Duration::days(CHANGE_DAYS - 1);
    Ok(Stats {
        days,
        counts: crate::db::admin::counts(db).await?,
        last_seven_days: stats::changes_since(db, since).await?,
        daily,
        top_tags: crate::db::tags::popular_counts(db, TOP_TAGS)
            .await?
            .into_iter()
            .map(|(tag, count)| TagCount { tag, count })
            .collect(),
    })
}

/// The dashboard's four charts: sign-ups, articles and comments per day, and the top tags.
pub fn charts(stats: &Stats) -> Vec<Chart> {
    let series = |value: fn(&Day) -> i64| -> Vec<Point> {
        stats
            .daily
            .iter()
            .map(|d| Point {
                label: d.date.clone(),
                value: value(d),
            })
            .collect()
    };
    let days = stats.days;
    let per_day = |id: &str, what: &str, unit: &str, points: Vec<Point>| {
        charts::columns(
            &Labels {
                id,
                title: &format!("{what} per day, last {days} days (UTC)"),
                unit,
                label_heading: "Day",
                value_heading: what,
            },
            &points,
        )
    };
    let tags: Vec<Point> = stats
        .top_tags
        .iter()
        .map(|t| Point {
            label: t.tag.clone(),
            value: t.count,
        })
        .collect();
    vec![
        per_day(
            "chart-signups",
            "Sign-ups",
            "sign-ups",
            series(|d| d.signups),
        ),
        per_day(
            "chart-articles",
            "Articles",
            "articles",
            series(|d| d.articles),
        ),
        per_day(
            "chart-comments",
            "Comments",
            "comments",
            series(|d| d.comments),
        ),
        charts::bars(
            &Labels {
                id: "chart-tags",
                title: &format!("Top {TOP_TAGS} tags by articles"),
                unit: "articles",
                label_heading: "Tag",
                value_heading: "Articles",
            },
            &tags,
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_offered_ranges_are_accepted() {
        assert_eq!(parse_days(None).ok(), Some(30));
        for (given, days) in [("7", 7), ("30", 30), ("90", 90), (" 90", 90)] {
            assert_eq!(parse_days(Some(given)).ok(), Some(days), "{given}");
        }
        for bad in [
            "",
            "0",
            "-7",
            "31",
            "365",
            "7.0",
            "seven",
            "99999999999999999999",
        ] {
            assert!(
                matches!(parse_days(Some(bad)), Err(AppError::Invalid(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn the_range_ends_today_oldest_first_and_empty_days_are_zero() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 2).expect("a date");
        let dates: Vec<String> = range(today, 7).map(|d| d.to_string()).collect();
        assert_eq!(dates.first().map(String::as_str), Some("2026-02-24"));
        assert_eq!(dates.last().map(String::as_str), Some("2026-03-02"));
        assert_eq!(dates.len(), 7);
        let rows = vec![("2026-02-24".to_owned(), 3), ("2026-03-01".to_owned(), 2)];
        assert_eq!(fill(&dates, &rows), vec![3, 0, 0, 0, 0, 2, 0]);
    }
}
