//! The leaf certificate's `notAfter` (RFC 5280 §4.1.2.5), read straight from its DER
//! encoding (X.690 §8.1, §10) for the certificate expiry metric.
//!
//! Written by hand rather than with an X.509 crate: it is the one certificate field the
//! proxy reads, rustls-webpki keeps its own reader private, and a full X.509 parser
//! brought a dozen crates into the build for these few lines.

/// Why `notAfter` could not be read: the certificate is not the DER X.509 expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a DER X.509 certificate: {0}")]
pub struct NotAfterError(&'static str);

/// Expiry of a DER-encoded certificate, seconds since the Unix epoch (negative before
/// 1970). Reads Certificate → TBSCertificate → skips version, serialNumber, signature
/// and issuer → Validity → notAfter. Bytes after the Certificate are ignored.
pub fn not_after(certificate: &[u8]) -> Result<i64, NotAfterError> {
    let certificate = Der(certificate).expect(SEQUENCE, "Certificate is not a SEQUENCE")?;
    let tbs = Der(certificate).expect(SEQUENCE, "TBSCertificate is not a SEQUENCE")?;
    let mut fields = Der(tbs);
    // version is `[0] EXPLICIT Version DEFAULT v1`: absent in a v1 certificate.
    if fields.0.first() == Some(&VERSION) {
        fields.element()?;
    }
    fields.expect(INTEGER, "serialNumber is not an INTEGER")?;
    fields.expect(SEQUENCE, "signature is not a SEQUENCE")?;
    fields.expect(SEQUENCE, "issuer is not a SEQUENCE")?;
    let mut validity = Der(fields.expect(SEQUENCE, "validity is not a SEQUENCE")?);
    let (tag, _) = validity.element()?;
    if tag != UTC_TIME && tag != GENERALIZED_TIME {
        return Err(NotAfterError("notBefore is not a Time"));
    }
    match validity.element()? {
        (UTC_TIME, value) => utc_time(value),
        (GENERALIZED_TIME, value) => generalized_time(value),
        _ => Err(NotAfterError("notAfter is not a Time")),
    }
}

const INTEGER: u8 = 0x02;
const UTC_TIME: u8 = 0x17;
const GENERALIZED_TIME: u8 = 0x18;
const SEQUENCE: u8 = 0x30;
/// Context-specific, constructed, tag number 0.
const VERSION: u8 = 0xa0;

const TRUNCATED: NotAfterError = NotAfterError("truncated");
const BAD_TIME: NotAfterError = NotAfterError("notAfter is not a valid RFC 5280 time");

/// The unread rest of a DER value's contents.
struct Der<'a>(&'a [u8]);

impl<'a> Der<'a> {
    /// Takes the next element: its tag and its contents.
    fn element(&mut self) -> Result<(u8, &'a [u8]), NotAfterError> {
        let (&tag, rest) = self.0.split_first().ok_or(TRUNCATED)?;
        // Tag numbers above 30 take more bytes; no field read or skipped here has one.
        if tag & 0x1f == 0x1f {
            return Err(NotAfterError("multi-byte tag"));
        }
        let (&first, rest) = rest.split_first().ok_or(TRUNCATED)?;
        let (length, rest) = match first {
            0..=0x7f => (usize::from(first), rest),
            // Long form with one to four length bytes; a certificate is far below 4 GiB.
            0x81..=0x84 => {
                let (bytes, rest) = rest
                    .split_at_checked(usize::from(first & 0x7f))
                    .ok_or(TRUNCATED)?;
                let length = bytes
                    .iter()
                    .fold(0u64, |length, &byte| length << 8 | u64::from(byte));
                (usize::try_from(length).map_err(|_| TRUNCATED)?, rest)
            }
            // 0x80 is BER's indefinite length, which DER forbids.
            _ => return Err(NotAfterError("unsupported length")),
        };
        let (contents, rest) = rest.split_at_checked(length).ok_or(TRUNCATED)?;
        self.0 = rest;
        Ok((tag, contents))
    }

    /// Takes the next element, which must carry `tag`; its contents.
    fn expect(&mut self, tag: u8, wrong: &'static str) -> Result<&'a [u8], NotAfterError> {
        match self.element()? {
            (found, contents) if found == tag => Ok(contents),
            _ => Err(NotAfterError(wrong)),
        }
    }
}

/// `YYMMDDHHMMSSZ`; YY below 50 is 20YY, otherwise 19YY (RFC 5280 §4.1.2.5.1).
fn utc_time(value: &[u8]) -> Result<i64, NotAfterError> {
    let (yy, rest) = value.split_at_checked(2).ok_or(BAD_TIME)?;
    let yy = number(yy)?;
    let year = if yy < 50 { 2000 + yy } else { 1900 + yy };
    seconds_since_epoch(year, rest)
}

/// `YYYYMMDDHHMMSSZ`, without fractional seconds (RFC 5280 §4.1.2.5.2).
fn generalized_time(value: &[u8]) -> Result<i64, NotAfterError> {
    let (year, rest) = value.split_at_checked(4).ok_or(BAD_TIME)?;
    seconds_since_epoch(number(year)?, rest)
}

/// `MMDDHHMMSSZ` of `year`, checked field by field, as seconds since the Unix epoch.
fn seconds_since_epoch(year: i64, rest: &[u8]) -> Result<i64, NotAfterError> {
    let [m1, m2, d1, d2, h1, h2, n1, n2, s1, s2, b'Z'] = *rest else {
        return Err(BAD_TIME);
    };
    let month = number(&[m1, m2])?;
    let day = number(&[d1, d2])?;
    let hour = number(&[h1, h2])?;
    let minute = number(&[n1, n2])?;
    let second = number(&[s1, s2])?;
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 59
    {
        return Err(BAD_TIME);
    }
    Ok(days_since_epoch(year, month, day) * 86_400 + hour * 3_600 + minute * 60 + second)
}

/// The value of ASCII decimal digits (at most four here, so no overflow).
fn number(digits: &[u8]) -> Result<i64, NotAfterError> {
    digits.iter().try_fold(0i64, |value, &digit| {
        if digit.is_ascii_digit() {
            Ok(value * 10 + i64::from(digit - b'0'))
        } else {
            Err(BAD_TIME)
        }
    })
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar (Howard Hinnant's
/// `days_from_civil`): years start in March so that the leap day comes last.
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year.rem_euclid(400);
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
#[path = "not_after_tests.rs"]
mod tests;
