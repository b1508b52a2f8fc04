//! SigV4 timestamps: the ISO 8601 basic form `yyyyMMdd'T'HHmmss'Z'` of `x-amz-date` and
//! `X-Amz-Date` (AWS IAM user guide, "Elements of an AWS API request signature"), and the
//! RFC 1123 `Date` header S3 falls back to.
//!
//! The calendar arithmetic is written by hand (days from a civil date, H. Hinnant's
//! algorithm): the crate has no date library, and this is the only calendar it needs.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A request time to the second, with its `yyyyMMddTHHmmssZ` spelling.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AmzDate {
    /// Seconds since the Unix epoch.
    secs: u64,
    /// `yyyyMMddTHHmmssZ`.
    text: [u8; 16],
}

impl AmzDate {
    /// Reads `yyyyMMddTHHmmssZ` strictly: the 16 bytes, a real calendar date and time,
    /// not before 1970.
    pub fn parse(text: &[u8]) -> Option<Self> {
        let text: [u8; 16] = text.try_into().ok()?;
        if text[8] != b'T' || text[15] != b'Z' {
            return None;
        }
        let num = |from: usize, to: usize| -> Option<u64> {
            text.get(from..to)?.iter().try_fold(0u64, |acc, b| {
                b.is_ascii_digit().then(|| acc * 10 + u64::from(b - b'0'))
            })
        };
        let (year, month, day) = (num(0, 4)?, num(4, 6)?, num(6, 8)?);
        let (hour, minute, second) = (num(9, 11)?, num(11, 13)?, num(13, 15)?);
        if year < 1970 || hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        let days = days_from_civil(year, month, day)?;
        let secs = days * 86_400 + hour * 3_600 + minute * 60 + second;
        Some(Self { secs, text })
    }

    /// The time of `now`, truncated to the second.
    pub fn from_system_time(time: SystemTime) -> Self {
        let secs = time
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            // Past year 9999 the 16-byte form cannot spell it.
            .min(253_402_300_799);
        Self {
            secs,
            text: format(secs),
        }
    }

    /// Reads an RFC 1123 `Date` header (IMF-fixdate, or the obsolete forms HTTP accepts).
    pub fn from_http_date(text: &str) -> Option<Self> {
        let time = httpdate::parse_http_date(text).ok()?;
        time.duration_since(UNIX_EPOCH).ok()?;
        Some(Self::from_system_time(time))
    }

    /// `yyyyMMddTHHmmssZ`.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.text).unwrap_or_default()
    }

    /// `yyyyMMdd`, the date of a credential scope.
    pub fn date(&self) -> &str {
        self.as_str().get(..8).unwrap_or_default()
    }

    /// The instant.
    pub fn system_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(self.secs)
    }

    /// Seconds from `now` to this time: positive in the future, negative in the past.
    pub fn seconds_after(&self, now: SystemTime) -> i64 {
        let now = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        // Both are below 2^38, so the casts and the difference cannot overflow.
        self.secs as i64 - now as i64
    }
}

impl std::fmt::Debug for AmzDate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AmzDate({})", self.as_str())
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date, `None` for a date that does not
/// exist (month 13, February 30).
fn days_from_civil(year: u64, month: u64, day: u64) -> Option<u64> {
    let leap = year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400));
    let month_days = [
        31,
        if leap { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let last = *month_days.get(usize::try_from(month.checked_sub(1)?).ok()?)?;
    if day == 0 || day > last {
        return None;
    }
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    (era * 146_097 + doe).checked_sub(719_468)
}

/// `yyyyMMddTHHmmssZ` of seconds since the epoch (inverse of `days_from_civil`).
fn format(secs: u64) -> [u8; 16] {
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    let mut out = *b"00000000T000000Z";
    let mut put = |at: usize, width: usize, mut value: u64| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (value % 10) as u8;
            value /= 10;
        }
    };
    put(0, 4, year);
    put(4, 2, month);
    put(6, 2, day);
    put(9, 2, rem / 3_600);
    put(11, 2, rem % 3_600 / 60);
    put(13, 2, rem % 60);
    out
}
