//! UTC calendar arithmetic, for the times AWS writes as text (SigV4 dates, ISO 8601 in IAM answers and
//! policy conditions).

/// An instant in UTC: year, month, day, hour, minute, second.
pub struct Utc(pub i64, pub i64, pub i64, pub i64, pub i64, pub i64);

impl Utc {
    pub fn from_epoch(epoch: i64) -> Utc {
        let seconds = epoch.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(epoch.div_euclid(86_400));
        Utc(
            year,
            month,
            day,
            seconds / 3600,
            seconds % 3600 / 60,
            seconds % 60,
        )
    }

    pub fn to_epoch(&self) -> i64 {
        let Utc(year, month, day, hour, minute, second) = *self;
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second
    }
}

// Howard Hinnant's days-from-civil algorithms, proleptic Gregorian calendar.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}
