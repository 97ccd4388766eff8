//! One page's or document's decision from its checks, by the policy.
use super::*;

/// The decision over `items` (each check with the page it is listed under): refuse on a certain failure whose
/// ground the policy refuses on; an officer for any other failure, a check that could not run, a type that is
/// unknown or uncertain (`class`, for a document), a listed warning, or too many warnings; issue otherwise.
pub(super) fn decide(
    items: &[(usize, &Check)],
    class: Option<&Classification>,
    p: &IntakePolicy,
) -> Decision {
    let reason = |(page, c): &(usize, &Check)| Reason {
        page: c.page.unwrap_or(*page),
        check: c.name.clone(),
        outcome: c.outcome,
        message: c.message.clone(),
        ground: c.ground,
    };
    let statements = |mut grounds: Vec<Ground>| {
        grounds.sort();
        grounds.dedup();
        grounds.into_iter().map(GroundStatement::from).collect::<Vec<_>>()
    };
    let refusals: Vec<&(usize, &Check)> = items
        .iter()
        .filter(|(_, c)| {
            c.outcome == Outcome::Fail && c.certain && c.ground.is_some_and(|g| p.refuse_on.contains(&g))
        })
        .collect();
    if !refusals.is_empty() {
        let grounds = statements(refusals.iter().filter_map(|(_, c)| c.ground).collect());
        return Decision {
            action: Action::Refuse,
            summary: format!(
                "refused: {}",
                grounds
                    .iter()
                    .map(|g| format!("{} ({})", g.explanation, g.article))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            grounds,
            suggested_grounds: Vec::new(),
            reasons: refusals.into_iter().map(reason).collect(),
        };
    }
    let mut reasons: Vec<Reason> = items
        .iter()
        .filter(|(_, c)| {
            matches!(c.outcome, Outcome::Fail | Outcome::Unchecked)
                || (c.outcome == Outcome::Warn && p.review_on_warn.contains(&c.name))
        })
        .map(reason)
        .collect();
    if let Some(class) = class {
        if class.doc_class == DocClass::Unknown || class.confidence < p.min_class_confidence {
            let first = items.iter().map(|(page, _)| *page).min().unwrap_or(0);
            reasons.push(Reason {
                page: first,
                check: "recognition.doc_type".into(),
                outcome: Outcome::Warn,
                message: match &class.paper {
                    Some(paper) => format!(
                        "the document is \"{}\", a paper the intake does not certify without an officer",
                        paper.name
                    ),
                    None => format!(
                        "document type {} with confidence {:.2} (an officer confirms below {:.2})",
                        class.doc_class.name(),
                        class.confidence,
                        p.min_class_confidence
                    ),
                },
                ground: None,
            });
        }
    }
    let warns: Vec<&(usize, &Check)> = items.iter().filter(|(_, c)| c.outcome == Outcome::Warn).collect();
    if reasons.is_empty() && p.review_warnings > 0 && warns.len() >= p.review_warnings {
        reasons.extend(warns.into_iter().map(reason));
    }
    if reasons.is_empty() {
        return Decision {
            action: Action::AutoIssue,
            grounds: Vec::new(),
            suggested_grounds: Vec::new(),
            reasons: Vec::new(),
            summary: "every check passed: issue".into(),
        };
    }
    let suggested = statements(
        reasons
            .iter()
            .filter(|r| r.outcome == Outcome::Fail)
            .filter_map(|r| r.ground)
            .collect(),
    );
    let mut summary = format!(
        "an officer must look: {}",
        reasons
            .iter()
            .map(|r| if r.outcome == Outcome::Unchecked {
                format!("could not check {}: {}", r.check, r.message)
            } else {
                r.message.clone()
            })
            .collect::<Vec<_>>()
            .join("; ")
    );
    if !suggested.is_empty() {
        summary.push_str(&format!(
            " (suggested ground: {})",
            suggested
                .iter()
                .map(|g| g.article.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    Decision {
        action: Action::OfficerReview,
        grounds: Vec::new(),
        suggested_grounds: suggested,
        summary,
        reasons,
    }
}

/// Checks that concern a page but could not run, on every page: (page, check, why). A request with any is
/// never issued without an officer; the benchmark counts requests auto-issued with one (it must be 0).
pub fn unchecked(pages: &[PageReport]) -> Vec<(usize, String, String)> {
    pages
        .iter()
        .flat_map(|p| {
            p.checks
                .iter()
                .filter(|c| c.outcome == Outcome::Unchecked)
                .map(move |c| (p.page, c.name.clone(), c.message.clone()))
        })
        .collect()
}
