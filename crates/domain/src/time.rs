//! Time as the product stores it: UTC, whole microseconds (the precision both
//! SQLite integers and PostgreSQL `timestamptz` keep exactly, so a value
//! read back hashes the same as the value written).

use time::OffsetDateTime;

/// Truncates to whole microseconds in UTC.
pub fn to_storage_precision(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    let micros = t.microsecond();
    t.replace_microsecond(micros).unwrap_or(t)
}

/// Microseconds since the Unix epoch.
pub fn unix_micros(t: OffsetDateTime) -> i64 {
    // i64 microseconds cover ±292,000 years; the cast cannot overflow for
    // any time this product will see.
    (t.unix_timestamp_nanos() / 1_000) as i64
}

/// The inverse of [`unix_micros`]; `None` for values outside `time`'s range.
pub fn from_unix_micros(micros: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(micros) * 1_000).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micros_round_trip_after_truncation() {
        let t = to_storage_precision(OffsetDateTime::now_utc());
        assert_eq!(from_unix_micros(unix_micros(t)), Some(t));
        assert_eq!(t.nanosecond() % 1_000, 0);
    }
}
