//! Conversions between MySQL values and ours: `DATETIME(6)` (UTC) to and from
//! [`Timestamp`] milliseconds, and typed reads of row columns that fail with a
//! `StoreError` instead of panicking.

use chatroom_common::protocol::Timestamp;
use mysql_async::prelude::FromValue;
use mysql_async::{Row, Value};

use crate::store::StoreError;

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The date `days` after 1970-01-01, as (year, month, day).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let days = days + 719_468;
    let era = days.div_euclid(146_097);
    let day_of_era = days - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A timestamp as a `DATETIME(6)` value in UTC; `DATETIME` covers years 1000 to 9999.
pub(super) fn datetime(ms: Timestamp) -> Result<Value, StoreError> {
    let out_of_range =
        || StoreError::Other(format!("timestamp {ms} ms is outside DATETIME's range"));
    let (year, month, day) = civil_from_days(ms.div_euclid(DAY_MS));
    if !(1000..=9999).contains(&year) {
        return Err(out_of_range());
    }
    let in_day = ms.rem_euclid(DAY_MS);
    let narrow = |v: i64| u8::try_from(v).map_err(|_| out_of_range());
    Ok(Value::Date(
        u16::try_from(year).map_err(|_| out_of_range())?,
        narrow(month)?,
        narrow(day)?,
        narrow(in_day / 3_600_000)?,
        narrow(in_day / 60_000 % 60)?,
        narrow(in_day / 1000 % 60)?,
        u32::try_from(in_day % 1000 * 1000).map_err(|_| out_of_range())?,
    ))
}

/// A `DATETIME(6)` value (UTC) as a timestamp; sub-millisecond digits are dropped.
fn timestamp(value: &Value) -> Result<Timestamp, StoreError> {
    match *value {
        Value::Date(year, month, day, hour, minute, second, micros) => {
            let days = days_from_civil(i64::from(year), i64::from(month), i64::from(day));
            let seconds = i64::from(hour) * 3600 + i64::from(minute) * 60 + i64::from(second);
            Ok(days * DAY_MS + seconds * 1000 + i64::from(micros) / 1000)
        }
        ref other => Err(StoreError::Other(format!(
            "expected a DATETIME, got {other:?}"
        ))),
    }
}

/// Reads column `index` as `T`.
pub(super) fn col<T: FromValue>(row: &mut Row, index: usize) -> Result<T, StoreError> {
    match row.take_opt::<T, usize>(index) {
        Some(Ok(value)) => Ok(value),
        Some(Err(e)) => Err(StoreError::Other(format!(
            "column {index} has an unexpected type: {e}"
        ))),
        None => Err(StoreError::Other(format!(
            "column {index} is missing from the row"
        ))),
    }
}

/// Reads a `DATETIME` column.
pub(super) fn time_col(row: &mut Row, index: usize) -> Result<Timestamp, StoreError> {
    timestamp(&col::<Value>(row, index)?)
}

/// Reads a nullable `DATETIME` column.
pub(super) fn opt_time_col(row: &mut Row, index: usize) -> Result<Option<Timestamp>, StoreError> {
    match col::<Value>(row, index)? {
        Value::NULL => Ok(None),
        value => timestamp(&value).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates_convert_both_ways() {
        let cases = [
            (0, Value::Date(1970, 1, 1, 0, 0, 0, 0)),
            (951_825_845_123, Value::Date(2000, 2, 29, 12, 4, 5, 123_000)),
            (-1, Value::Date(1969, 12, 31, 23, 59, 59, 999_000)),
            (
                4_102_444_799_999,
                Value::Date(2099, 12, 31, 23, 59, 59, 999_000),
            ),
        ];
        for (ms, value) in cases {
            assert_eq!(datetime(ms).ok(), Some(value.clone()), "{ms}");
            assert_eq!(timestamp(&value).ok(), Some(ms), "{value:?}");
        }
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        let start = days_from_civil(1900, 1, 1);
        for day in start..start + 146_097 {
            let ms = day * DAY_MS + 45_296_789;
            let value = datetime(ms).ok();
            assert_eq!(value.as_ref().and_then(|v| timestamp(v).ok()), Some(ms));
        }
    }

    #[test]
    fn out_of_range_is_an_error() {
        assert!(datetime(i64::MAX).is_err());
        assert!(datetime(-40_000_000_000_000).is_err());
    }
}
