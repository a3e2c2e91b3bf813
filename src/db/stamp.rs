//! Timestamps read from list rows. SQLite keeps them as RFC 3339 text, which sqlx parses with
//! chrono's general parser (about 700 instructions each, two per article and per comment: a
//! twentieth of a list request). [`Stamp`] reads the form this application writes
//! (`2026-11-24T17:20:51.985+00:00`, see [`super::now`]) directly and leaves anything else
//! to sqlx's own decoding, so every value sqlx accepts is still read the same.

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::mysql::{MySql, MySqlTypeInfo, MySqlValueRef};
use sqlx::sqlite::{Sqlite, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, Type, ValueRef};

type BoxDynError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A `DateTime<Utc>` column, decoded quickly where it is SQLite text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stamp(pub DateTime<Utc>);

impl Type<Sqlite> for Stamp {
    fn type_info() -> SqliteTypeInfo {
        <DateTime<Utc> as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <DateTime<Utc> as Type<Sqlite>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Sqlite> for Stamp {
    fn decode(value: SqliteValueRef<'r>) -> Result<Self, BoxDynError> {
        if *value.type_info() != <&str as Type<Sqlite>>::type_info() {
            return <DateTime<Utc> as Decode<'r, Sqlite>>::decode(value).map(Stamp);
        }
        let text = <&str as Decode<'r, Sqlite>>::decode(value)?;
        match parse_utc(text) {
            Some(at) => Ok(Stamp(at)),
            None => slow_path(text),
        }
    }
}

/// What sqlx does with a text timestamp (`sqlx-sqlite`'s `decode_datetime_from_text`):
/// RFC 3339 with any offset, then the naive forms SQLite's own functions write, read as UTC.
fn slow_path(text: &str) -> Result<Stamp, BoxDynError> {
    const FORMATS: [&str; 12] = [
        "%F %T%.f",
        "%F %R",
        "%F %RZ",
        "%F %R%:z",
        "%F %T%.fZ",
        "%F %T%.f%:z",
        "%FT%R",
        "%FT%RZ",
        "%FT%R%:z",
        "%FT%T%.f",
        "%FT%T%.fZ",
        "%FT%T%.f%:z",
    ];
    if let Ok(at) = DateTime::parse_from_rfc3339(text) {
        return Ok(Stamp(at.with_timezone(&Utc)));
    }
    for format in FORMATS {
        if let Ok(at) = DateTime::parse_from_str(text, format) {
            return Ok(Stamp(at.with_timezone(&Utc)));
        }
        if let Ok(at) = chrono::NaiveDateTime::parse_from_str(text, format) {
            return Ok(Stamp(at.and_utc()));
        }
    }
    Err(format!("invalid datetime: {text}").into())
}

impl Type<MySql> for Stamp {
    fn type_info() -> MySqlTypeInfo {
        <DateTime<Utc> as Type<MySql>>::type_info()
    }

    fn compatible(ty: &MySqlTypeInfo) -> bool {
        <DateTime<Utc> as Type<MySql>>::compatible(ty)
    }
}

/// MySQL sends `DATETIME` in binary already: sqlx's decoding is quick there.
impl<'r> Decode<'r, MySql> for Stamp {
    fn decode(value: MySqlValueRef<'r>) -> Result<Self, BoxDynError> {
        <DateTime<Utc> as Decode<'r, MySql>>::decode(value).map(Stamp)
    }
}

/// `YYYY-MM-DDTHH:MM:SS`, an optional fraction of up to nine digits, then `Z` or `+00:00`;
/// anything else is `None`.
fn parse_utc(text: &str) -> Option<DateTime<Utc>> {
    /// The two decimal digits at `b[0..2]`.
    fn two(b: &[u8]) -> Option<u32> {
        let (high, low) = (b[0].wrapping_sub(b'0'), b[1].wrapping_sub(b'0'));
        (high < 10 && low < 10).then(|| u32::from(high) * 10 + u32::from(low))
    }
    let bytes = text.as_bytes();
    let head: &[u8; 19] = bytes.get(..19)?.try_into().ok()?;
    if head[4] != b'-' || head[7] != b'-' || head[10] != b'T' || head[13] != b':' || head[16] != b':' {
        return None;
    }
    let year = two(&head[0..2])? * 100 + two(&head[2..4])?;
    let (month, day) = (two(&head[5..7])?, two(&head[8..10])?);
    let (hour, minute, second) = (two(&head[11..13])?, two(&head[14..16])?, two(&head[17..19])?);
    let mut rest = &bytes[19..];
    let mut nanos = 0;
    if let [b'.', fraction @ ..] = rest {
        let mut scale = 100_000_000;
        let mut len = 0;
        while let Some(&c) = fraction.get(len) {
            let digit = c.wrapping_sub(b'0');
            if digit >= 10 {
                break;
            }
            if len == 9 {
                return None;
            }
            nanos += u32::from(digit) * scale;
            scale /= 10;
            len += 1;
        }
        if len == 0 {
            return None;
        }
        rest = &fraction[len..];
    }
    // Leap seconds (`:60`) are left to chrono's parser.
    if (rest != b"Z" && rest != b"+00:00") || second > 59 {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?
        .and_hms_nano_opt(hour, minute, second, nanos)
        .map(|at| at.and_utc())
}

#[cfg(test)]
mod tests {
    use super::{parse_utc, slow_path};
    use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

    #[test]
    fn reads_what_the_application_writes_as_chrono_does() {
        let times = [
            Utc.with_ymd_and_hms(2026, 11, 24, 17, 20, 51).unwrap(),
            Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap() + chrono::Duration::milliseconds(985),
            Utc.with_ymd_and_hms(2024, 2, 29, 0, 0, 0).unwrap() + chrono::Duration::microseconds(7),
            Utc.with_ymd_and_hms(2030, 1, 1, 12, 0, 0).unwrap() + chrono::Duration::nanoseconds(123_456_789),
        ];
        for at in times {
            // How sqlx encodes a `DateTime<Utc>` for SQLite, and `Z` as some tools write it.
            for text in [
                at.to_rfc3339_opts(SecondsFormat::AutoSi, false),
                at.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            ] {
                assert_eq!(parse_utc(&text), Some(at), "{text}");
                assert_eq!(
                    DateTime::parse_from_rfc3339(&text).unwrap().with_timezone(&Utc),
                    at,
                    "{text}"
                );
            }
        }
    }

    #[test]
    fn leaves_everything_else_to_the_general_parser() {
        for text in [
            "2026-11-24T19:20:51.985+02:00",
            "2026-11-24 17:20:51",
            "2026-11-24 17:20:51.5",
            "2026-11-24T17:20:51",
            "2026-11-24T17:20:51.+00:00",
            "2026-11-24T17:20:51.1234567891+00:00",
            "2026-02-30T17:20:51+00:00",
            "2026-11-24T24:00:00+00:00",
            "2026-1x-24T17:20:51+00:00",
            "garbage",
        ] {
            assert_eq!(parse_utc(text), None, "{text}");
        }
        let utc = |y, mo, d, h, mi, s| Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap();
        assert_eq!(
            slow_path("2026-11-24T19:20:51+02:00").unwrap().0,
            utc(2026, 11, 24, 17, 20, 51)
        );
        assert_eq!(
            slow_path("2026-11-24 17:20:51").unwrap().0,
            utc(2026, 11, 24, 17, 20, 51)
        );
        assert_eq!(slow_path("2026-11-24T17:20").unwrap().0, utc(2026, 11, 24, 17, 20, 0));
        assert!(slow_path("2026-02-30T17:20:51+00:00").is_err());
        assert!(slow_path("garbage").is_err());
    }
}
