//! The request's decision from its pages' and documents' decisions.
use super::*;

/// The strictest document decision, with every document's reasons for it; blank pages judged as a whole (see
/// the module's rule).
pub(super) fn combine(pages: &[PageReport], documents: &[DocumentReport]) -> Decision {
    let blank: Vec<&PageReport> = pages.iter().filter(|p| p.blank).collect();
    if !pages.is_empty() && blank.len() == pages.len() {
        let g = Ground::Illegible;
        return Decision {
            action: Action::Refuse,
            grounds: vec![GroundStatement::from(g)],
            suggested_grounds: Vec::new(),
            reasons: blank_reasons(&blank),
            summary: format!(
                "refused: no page carries legible content ({} page(s), all blank) — {} ({})",
                pages.len(),
                g.explanation(),
                g.article()
            ),
        };
    }
    let mut decision = combine_documents(documents);
    if !blank.is_empty() && decision.action == Action::AutoIssue {
        decision.action = Action::OfficerReview;
        decision.reasons = blank_reasons(&blank);
        decision.summary = format!(
            "an officer must look: page(s) {} of {} are blank; an officer checks that no page is missing or unreadable",
            blank.iter().map(|p| (p.page + 1).to_string()).collect::<Vec<_>>().join(", "),
            pages.len()
        );
    } else if !blank.is_empty() && decision.action == Action::OfficerReview {
        decision.reasons.extend(blank_reasons(&blank));
        decision.summary.push_str(&format!(
            " | blank page(s): {}",
            blank
                .iter()
                .map(|p| (p.page + 1).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    decision
}

pub(super) fn blank_reasons(blank: &[&PageReport]) -> Vec<Reason> {
    blank
        .iter()
        .flat_map(|p| {
            p.checks
                .iter()
                .filter(|c| c.name == "quality.blank")
                .map(|c| Reason {
                    page: p.page,
                    check: c.name.clone(),
                    outcome: c.outcome,
                    message: format!("page {}: {}", p.page + 1, c.message),
                    ground: c.ground,
                })
        })
        .collect()
}

/// The strictest document decision, with every deciding document's reasons and grounds.
pub(super) fn combine_documents(documents: &[DocumentReport]) -> Decision {
    let action = documents
        .iter()
        .map(|d| d.decision.action)
        .max()
        .unwrap_or(Action::AutoIssue);
    let deciding: Vec<&DocumentReport> = documents.iter().filter(|d| d.decision.action == action).collect();
    let mut grounds: Vec<GroundStatement> =
        deciding.iter().flat_map(|d| d.decision.grounds.clone()).collect();
    grounds.sort_by_key(|g| g.ground);
    grounds.dedup();
    let mut suggested: Vec<GroundStatement> = deciding
        .iter()
        .flat_map(|d| d.decision.suggested_grounds.clone())
        .collect();
    suggested.sort_by_key(|g| g.ground);
    suggested.dedup();
    let reasons: Vec<Reason> = deciding.iter().flat_map(|d| d.decision.reasons.clone()).collect();
    let pages: usize = documents.iter().map(|d| d.pages.len()).sum();
    let summary = match (action, documents.len()) {
        (Action::AutoIssue, 1) => format!(
            "the {} ({} page(s)) passed every check: issue",
            documents[0].doc_type.name(),
            pages
        ),
        (Action::AutoIssue, n) => format!("all {n} documents ({pages} page(s)) passed every check: issue"),
        (_, 1) => deciding[0].decision.summary.clone(),
        _ => deciding
            .iter()
            .map(|d| {
                format!(
                    "document {} (page(s) {}): {}",
                    d.index + 1,
                    d.pages
                        .iter()
                        .map(|p| (p + 1).to_string())
                        .collect::<Vec<_>>()
                        .join(", "),
                    d.decision.summary
                )
            })
            .collect::<Vec<_>>()
            .join(" | "),
    };
    Decision {
        action,
        grounds,
        suggested_grounds: suggested,
        reasons,
        summary,
    }
}
