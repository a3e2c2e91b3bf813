//! Date formatting on hot paths. Every list row carries two timestamps; chrono's `format`
//! interprets its pattern on each call, which made it a tenth of a list request's CPU time.
//! These write the same text directly; the tests check them against chrono.

use chrono::{DateTime, Datelike, Timelike, Utc};

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Append `value` as exactly `width` decimal digits (zero-padded; `value` must fit).
fn push_digits(out: &mut String, value: u32, width: u32) {
    let mut div = 10u32.pow(width - 1);
    while div > 0 {
        out.push(char::from(
            b'0' + u8::try_from(value / div % 10).unwrap_or(0),
        ));
        div /= 10;
    }
}

/// The year as four digits (years 0-9999).
fn push_year(out: &mut String, at: &DateTime<Utc>) {
    push_digits(out, u32::try_from(at.year()).unwrap_or(0).min(9999), 4);
}

/// `YYYY-MM-DDTHH:MM:SS`, years 0-9999.
fn push_date_time(out: &mut String, at: &DateTime<Utc>) {
    push_year(out, at);
    out.push('-');
    push_digits(out, at.month(), 2);
    out.push('-');
    push_digits(out, at.day(), 2);
    out.push('T');
    push_digits(out, at.hour(), 2);
    out.push(':');
    push_digits(out, at.minute(), 2);
    out.push(':');
    push_digits(out, at.second(), 2);
}

/// ISO 8601 UTC to the second, for `<time datetime>`: `2016-02-18T03:22:56Z`.
#[must_use]
pub fn iso_seconds(at: &DateTime<Utc>) -> String {
    let mut out = String::with_capacity(20);
    push_date_time(&mut out, at);
    out.push('Z');
    out
}

/// A date for people: `November 24, 2026`.
#[must_use]
pub fn human_date(at: &DateTime<Utc>) -> String {
    let mut out = String::with_capacity(18);
    out.push_str(MONTHS[at.month0() as usize]);
    out.push(' ');
    let day = at.day();
    push_digits(&mut out, day, if day >= 10 { 2 } else { 1 });
    out.push_str(", ");
    push_year(&mut out, at);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn matches_chrono_over_many_instants() {
        // Every day of several years at varied times of day and milliseconds, leap days included.
        let mut at = Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap();
        for step in 0..4000 {
            let millis = (step * 7919) % 1000;
            let sample = at + chrono::Duration::milliseconds(millis);
            assert_eq!(
                iso_seconds(&sample),
                sample.format("%Y-%m-%dT%H:%M:%SZ").to_string()
            );
            assert_eq!(human_date(&sample), sample.format("%B %-d, %Y").to_string());
            at += chrono::Duration::seconds(86_400 + 3_607);
        }
    }

    #[test]
    fn pads_small_fields() {
        let at =
            Utc.with_ymd_and_hms(2026, 1, 2, 3, 4, 5).unwrap() + chrono::Duration::milliseconds(6);
        assert_eq!(human_date(&at), "January 2, 2026");
    }
}
