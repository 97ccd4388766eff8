//! The supervisors' figures, counted from the registry itself (the intake's kept decisions, the review queue,
//! the dossiers' ratings and the kiosks' ratings), never from a second store: requests per day, how the intake
//! decided them and on which grounds it refused, how long officers took over the requests it held (p50, p95),
//! what each officer decided, and how satisfied citizens were, per officer and per procedure; and the volumes by
//! where they came from (each kiosk, the counter, the web) and by procedure.

use super::review::REVIEW_KEY;
use super::{Service, SignedIn};
use crate::error::Result;
use crate::model::IntakeDecision;
use crate::office::{OfficeRole, ReviewState};
use std::collections::BTreeMap;
use time::{Date, OffsetDateTime};

/// Rows read at most for one dashboard (each source).
pub const DASHBOARD_ROWS: u32 = 100_000;
/// The longest window a dashboard covers, in days.
pub const DASHBOARD_DAYS: u32 = 366;

/// One day's requests.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayFigures {
    pub requests: u64,
    pub auto_issued: u64,
    pub held: u64,
    pub refused: u64,
    pub copies: u64,
}

/// Satisfaction counts (very satisfied, satisfied, not satisfied).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Satisfied {
    pub very: u64,
    pub yes: u64,
    pub no: u64,
}

impl Satisfied {
    pub fn total(&self) -> u64 {
        self.very + self.yes + self.no
    }
}

/// What came from one place over the window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelFigures {
    /// Requests for certified copies.
    pub copy_requests: u64,
    /// Procedures' dossiers.
    pub dossiers: u64,
}

/// Where requests come from at the counter (an officer's own request), as the dashboard names it.
pub const AT_THE_COUNTER: &str = "Tại quầy / at the counter";
/// The procedure name certified-copy requests are counted under beside the dossiers.
pub const COPY_PROCEDURE: &str = "Chứng thực bản sao điện tử từ bản chính";

/// What an officer decided over the window.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OfficerFigures {
    pub approved: u64,
    pub refused: u64,
    pub rescans: u64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dashboard {
    pub since: Option<Date>,
    /// Each day of the window in Việt Nam, oldest first, with its figures (days without a request included).
    pub days: Vec<(Date, DayFigures)>,
    pub total: DayFigures,
    /// Refusals by the clause of Art. 22 they rest on (the intake's and the officers'); 0: not named.
    pub grounds: BTreeMap<u8, u64>,
    /// Minutes from held to decided, over the decided requests: (p50, p95, how many).
    pub review_minutes: Option<(f64, f64, usize)>,
    /// Held requests still waiting.
    pub waiting: u64,
    pub officers: BTreeMap<String, OfficerFigures>,
    pub satisfaction_by_officer: BTreeMap<String, Satisfied>,
    pub satisfaction_by_procedure: BTreeMap<String, Satisfied>,
    /// The kiosks' 1–5 ratings.
    pub kiosk_ratings: [u64; 5],
    /// Volumes by where they came from: each kiosk by its name, the counter, the web.
    pub by_channel: BTreeMap<String, ChannelFigures>,
    /// Volumes by procedure: the dossiers of each (by name) and the certified-copy requests.
    pub by_procedure: BTreeMap<String, u64>,
    /// The issuing body this installation serves: every request and dossier counted here is its.
    pub body: String,
}

/// The `q` quantile (0–1) of sorted values, nearest rank.
pub fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank.min(sorted.len()) - 1).copied()
}

fn local_day(t: OffsetDateTime) -> Date {
    t.to_offset(crate::rules::VIETNAM).date()
}

impl Service {
    /// The figures of the last `days` days (1 to [`DASHBOARD_DAYS`]), for supervisors, administrators and
    /// auditors (OFF-0004 for an officer).
    pub async fn office_dashboard(&self, by: &SignedIn, days: u32) -> Result<Dashboard> {
        by.require(|r| r != OfficeRole::Officer)?;
        let days = days.clamp(1, DASHBOARD_DAYS);
        let now = self.clock.now();
        let today = local_day(now);
        let first = today - time::Duration::days(i64::from(days) - 1);
        let since = first
            .midnight()
            .assume_offset(crate::rules::VIETNAM)
            .to_offset(time::UtcOffset::UTC);
        // Kiosks by their token's name.
        let names: BTreeMap<String, String> = self
            .tokens()
            .await?
            .into_iter()
            .map(|t| {
                let name = if t.name.trim().is_empty() {
                    format!("Ki-ốt {}", t.id)
                } else {
                    t.name
                };
                (t.id, name)
            })
            .collect();
        let channel = |device: Option<&str>| match device {
            None => AT_THE_COUNTER.to_string(),
            Some("web") => "Cổng dịch vụ công / web".to_string(),
            Some(id) => names.get(id).cloned().unwrap_or_else(|| format!("Ki-ốt {id}")),
        };
        let mut d = Dashboard {
            body: self.settings.issuing_body.clone(),
            since: Some(first),
            days: (0..days)
                .map(|i| (first + time::Duration::days(i64::from(i)), DayFigures::default()))
                .collect(),
            ..Dashboard::default()
        };
        for i in self.registry.intake_since(since, DASHBOARD_ROWS).await? {
            // An officer's approval of a held request is that request's end, counted on the held one.
            if i.request_key
                .as_deref()
                .is_some_and(|k| k.starts_with(REVIEW_KEY))
            {
                continue;
            }
            // The window's days are consecutive from `first`: a day's figures are at its distance from it.
            let offset = (local_day(i.recorded_at) - first).whole_days();
            let Some((_, slot)) = usize::try_from(offset).ok().and_then(|o| d.days.get_mut(o)) else {
                continue;
            };
            slot.requests += 1;
            slot.copies += u64::from(i.copies);
            d.by_channel
                .entry(channel(i.device.as_deref()))
                .or_default()
                .copy_requests += 1;
            *d.by_procedure.entry(COPY_PROCEDURE.to_string()).or_default() += 1;
            match i.decision {
                IntakeDecision::AutoIssue => slot.auto_issued += 1,
                IntakeDecision::OfficerReview => slot.held += 1,
                IntakeDecision::Refuse => {
                    slot.refused += 1;
                    *d.grounds
                        .entry(crate::rules::article_22_clause(&i.reason).unwrap_or(0))
                        .or_default() += 1;
                }
            }
        }
        for (_, f) in &d.days {
            d.total.requests += f.requests;
            d.total.auto_issued += f.auto_issued;
            d.total.held += f.held;
            d.total.refused += f.refused;
            d.total.copies += f.copies;
        }
        if let Some(office) = &self.office {
            let mut minutes = Vec::new();
            for r in office.store.reviews_since(since, DASHBOARD_ROWS).await? {
                let (Some(who), Some(at)) = (&r.decided_by, r.decided_at) else {
                    d.waiting += u64::from(r.state == ReviewState::Waiting);
                    continue;
                };
                minutes.push((at - r.held_at).as_seconds_f64() / 60.0);
                let o = d.officers.entry(who.clone()).or_default();
                match r.state {
                    ReviewState::Approved => o.approved += 1,
                    ReviewState::Refused => {
                        o.refused += 1;
                        let clause = r.request.ground.as_ref().map_or(0, |(c, _)| *c);
                        *d.grounds.entry(clause).or_default() += 1;
                    }
                    ReviewState::Rescan => o.rescans += 1,
                    ReviewState::Waiting => {}
                }
            }
            minutes.sort_by(f64::total_cmp);
            d.review_minutes = quantile(&minutes, 0.5)
                .zip(quantile(&minutes, 0.95))
                .map(|(p50, p95)| (p50, p95, minutes.len()));
        }
        if let Some(dossiers) = &self.dossiers {
            for b in dossiers.store.dossiers_since(since, DASHBOARD_ROWS).await? {
                let from = match b.channel.as_deref() {
                    Some(c) => channel(Some(c)),
                    None => "(không rõ / unknown)".to_string(),
                };
                d.by_channel.entry(from).or_default().dossiers += 1;
                let name = dossiers
                    .catalogue
                    .get(&b.procedure)
                    .map_or_else(|_| b.procedure.clone(), |p| p.name.clone());
                *d.by_procedure.entry(name).or_default() += 1;
            }
            for r in dossiers.store.ratings_since(since, DASHBOARD_ROWS).await? {
                let add = |s: &mut Satisfied| match r.level {
                    crate::dossier::Satisfaction::VerySatisfied => s.very += 1,
                    crate::dossier::Satisfaction::Satisfied => s.yes += 1,
                    crate::dossier::Satisfaction::NotSatisfied => s.no += 1,
                };
                add(d
                    .satisfaction_by_officer
                    .entry(r.officer.clone().unwrap_or_else(|| "(ki-ốt)".into()))
                    .or_default());
                add(d
                    .satisfaction_by_procedure
                    .entry(r.procedure.clone())
                    .or_default());
            }
        }
        d.kiosk_ratings = self.registry.rating_counts(since).await?;
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank_and_a_refusal_names_its_clause() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0];
        assert_eq!(quantile(&v, 0.5), Some(5.0));
        assert_eq!(quantile(&v, 0.95), Some(10.0));
        assert_eq!(quantile(&[7.0], 0.95), Some(7.0));
        assert_eq!(quantile(&[], 0.5), None);
        use crate::rules::article_22_clause;
        assert_eq!(
            article_22_clause("cannot be certified (Decree 23, Art. 22(3)): MẬT"),
            Some(3)
        );
        assert_eq!(article_22_clause("Art. 22(9)"), None);
        assert_eq!(article_22_clause("no clause"), None);
    }
}
