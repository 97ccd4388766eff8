//! Documents, not pages: requests of several pages made by the corpus's document generator
//! (`corpus::documents`), read by the real Tesseract and judged as documents.

use banso_intake::checks::{Ground, Outcome};
use banso_intake::corpus::documents::{document_specs, DocumentKind, Expected, GeneratedDocument};
use banso_intake::decision::{assess, Action, IntakePolicy, IntakeReport, PageInput};
use banso_intake::recognise::{DocClass, Issuer};

use super::assess::{generator, ocr};

/// The benchmark's document of this kind and index (`document_specs(2025, 4)`).
fn document(kind: DocumentKind, index: u32) -> GeneratedDocument {
    let spec = document_specs(2025, 4)
        .into_iter()
        .find(|s| s.kind == kind && s.index == index)
        .expect("spec");
    generator().generate_document(&spec).expect("generate")
}

fn run(doc: &GeneratedDocument, with_holder: bool) -> IntakeReport {
    let ocr: Vec<_> = doc.pages.iter().map(|p| ocr(&p.image)).collect();
    let inputs: Vec<PageInput<'_>> = doc
        .pages
        .iter()
        .map(|p| PageInput {
            image: &p.image,
            dpi: Some(300.0),
            jpeg: false,
        })
        .collect();
    let holder = doc.truth.fields.verified_holder();
    assess(
        &inputs,
        &ocr,
        with_holder.then_some(&holder),
        &IntakePolicy::default(),
        &[],
    )
    .expect("assess")
}

fn seal_check(r: &IntakeReport) -> &banso_intake::checks::Check {
    r.pages
        .iter()
        .flat_map(|p| &p.checks)
        .find(|c| c.name == "art22.seal")
        .expect("a seal check on the document")
}

#[test]
fn a_two_page_certificate_sealed_on_its_last_page_is_one_document_and_not_refused() {
    // Index 0: birth certificate in colour; 1: marriage certificate in colour; 2, 3: the same in greyscale.
    for index in 0..4 {
        let doc = document(DocumentKind::TwoPage, index);
        assert_eq!(doc.pages.len(), 2);
        assert_eq!(doc.truth.seal_page, Some(1), "the seal is on the last page");
        assert_eq!(doc.truth.greyscale, index >= 2);
        let r = run(&doc, true);
        let id = &doc.truth.id;
        assert_eq!(
            r.documents.len(),
            1,
            "{id}: one document of two pages: {:?}",
            r.documents
        );
        assert_eq!(r.documents[0].pages, vec![0, 1], "{id}");
        let expected = DocClass::from_doc_type(doc.truth.doc_type.expect("a known type"));
        assert_eq!(r.documents[0].doc_type, expected, "{id}");
        assert_eq!(
            r.pages[1].doc_type, expected,
            "{id}: the continuation page belongs to it"
        );
        assert_ne!(
            r.decision.action,
            Action::Refuse,
            "{id}: a sealed certificate is never refused: {}",
            r.decision.summary
        );
        let seal = seal_check(&r);
        assert_eq!(seal.outcome, Outcome::Pass, "{id}: {seal:?}");
        assert_eq!(seal.page, Some(1), "{id}: the seal was found on page 2: {seal:?}");
        let truth = doc.pages[1].truth.seal.expect("seal box");
        assert!(
            seal.regions.iter().any(|b| b.intersect(&truth).is_some()),
            "{id}: the region is the seal: {seal:?} vs {truth:?}"
        );
        // The holder's fields were read on page 1 and compared there.
        let name = r.pages[0].checks.iter().find(|c| c.name == "identity.name");
        assert!(name.is_some_and(|c| c.outcome == Outcome::Pass), "{id}: {name:?}");
    }
}

#[test]
fn without_its_seal_page_a_certificate_goes_to_an_officer_with_the_ground_suggested() {
    // Page 1 alone: the seal is nowhere. An official paper whose seal is not found is a question for an
    // officer (Art. 22(6) suggested), never an automatic refusal.
    let doc = document(DocumentKind::TwoPage, 0);
    let first = GeneratedDocument {
        pages: vec![doc.pages[0].clone()],
        truth: doc.truth.clone(),
    };
    let r = run(&first, true);
    assert_eq!(r.decision.action, Action::OfficerReview, "{}", r.decision.summary);
    assert!(
        r.decision
            .suggested_grounds
            .iter()
            .any(|g| g.ground == Ground::NoSeal),
        "{:?}",
        r.decision
    );
    let seal = seal_check(&r);
    assert_eq!((seal.outcome, seal.certain), (Outcome::Fail, false), "{seal:?}");
}

#[test]
fn a_persons_paper_without_a_seal_is_refused_under_article_22_6_and_a_certified_one_is_not() {
    for index in 0..4 {
        let doc = document(DocumentKind::Individual, index);
        assert_eq!(
            doc.truth.expected,
            Expected::Refused {
                ground: Ground::NoSeal
            }
        );
        let r = run(&doc, true);
        let id = &doc.truth.id;
        assert_eq!(r.decision.action, Action::Refuse, "{id}: {}", r.decision.summary);
        assert_eq!(r.decision.grounds.len(), 1, "{id}: {:?}", r.decision);
        assert_eq!(r.decision.grounds[0].ground, Ground::NoSeal, "{id}");
        assert_eq!(r.decision.grounds[0].article, "Decree 23/2015 Art. 22(6)");
        let paper = r.documents[0]
            .classification
            .paper
            .as_ref()
            .expect("recognised by its title");
        assert_eq!(paper.issuer, Issuer::Individual, "{id}");
        let seal = seal_check(&r);
        assert!(seal.certain, "{id}: {seal:?}");
        assert!(
            !seal.regions.is_empty(),
            "{id}: the refusal shows the title it rests on: {seal:?}"
        );
    }
    for index in 0..2 {
        let doc = document(DocumentKind::CertifiedIndividual, index);
        let r = run(&doc, true);
        let id = &doc.truth.id;
        assert_eq!(
            r.decision.action,
            Action::OfficerReview,
            "{id}: certified by a competent body, an officer looks: {}",
            r.decision.summary
        );
        assert_eq!(seal_check(&r).outcome, Outcome::Pass, "{id}");
    }
}

#[test]
fn a_consular_legalisation_on_a_page_of_its_own_counts_for_the_document() {
    for index in 0..2 {
        let doc = document(DocumentKind::Legalised, index);
        let r = run(&doc, true);
        let id = &doc.truth.id;
        assert_eq!(
            r.documents.len(),
            1,
            "{id}: the legalisation page belongs to the paper: {:?}",
            r.documents
        );
        assert_eq!(r.documents[0].doc_type, DocClass::BirthCertificate, "{id}");
        let foreign = r
            .pages
            .iter()
            .flat_map(|p| &p.checks)
            .find(|c| c.name == "art22.foreign_not_legalised")
            .expect("the language check");
        assert_eq!(foreign.outcome, Outcome::Pass, "{id}: {foreign:?}");
        assert_ne!(r.decision.action, Action::Refuse, "{id}: {}", r.decision.summary);
        // Without its legalisation page the same paper is a foreign one: an officer, ground suggested.
        let alone = GeneratedDocument {
            pages: vec![doc.pages[0].clone()],
            truth: doc.truth.clone(),
        };
        let r = run(&alone, true);
        assert_eq!(
            r.decision.action,
            Action::OfficerReview,
            "{id}: {}",
            r.decision.summary
        );
        assert!(
            r.decision
                .suggested_grounds
                .iter()
                .any(|g| g.ground == Ground::ForeignNotLegalised),
            "{id}: {:?}",
            r.decision
        );
    }
}

#[test]
fn an_official_paper_of_an_unread_type_goes_to_an_officer() {
    for index in 0..2 {
        let doc = document(DocumentKind::OtherOfficial, index);
        let r = run(&doc, true);
        let id = &doc.truth.id;
        assert_eq!(
            r.decision.action,
            Action::OfficerReview,
            "{id}: {}",
            r.decision.summary
        );
        assert_eq!(r.documents[0].doc_type, DocClass::Unknown, "{id}");
        assert!(
            r.decision.summary.contains("Giấy xác nhận tình trạng hôn nhân"),
            "{id}: the officer is told what paper it is: {}",
            r.decision.summary
        );
    }
}

#[test]
fn two_originals_in_one_request_are_two_documents_each_decided() {
    // A two-page birth certificate followed by a person's unsealed application: two documents; the request
    // is refused for the application alone, and the certificate's decision stands apart.
    let cert = document(DocumentKind::TwoPage, 0);
    let letter = document(DocumentKind::Individual, 0);
    let both = GeneratedDocument {
        pages: cert.pages.iter().chain(&letter.pages).cloned().collect(),
        truth: cert.truth.clone(),
    };
    let r = run(&both, false);
    assert_eq!(r.documents.len(), 2, "{:?}", r.documents);
    assert_eq!(r.documents[0].pages, vec![0, 1]);
    assert_eq!(r.documents[1].pages, vec![2]);
    assert_ne!(
        r.documents[0].decision.action,
        Action::Refuse,
        "{}",
        r.documents[0].decision.summary
    );
    assert_eq!(r.documents[1].decision.action, Action::Refuse);
    assert_eq!(r.decision.action, Action::Refuse);
    assert!(r.decision.summary.contains("refused"), "{}", r.decision.summary);
}

#[test]
fn on_typefaces_and_layouts_the_fitting_never_saw_the_document_rules_hold() {
    use banso_intake::corpus::documents::split_document_specs;
    use banso_intake::corpus::{Generator, Split};
    static G: std::sync::OnceLock<Generator> = std::sync::OnceLock::new();
    let g = G.get_or_init(|| {
        Generator::for_split(Split::HeldOut).expect("fonts-liberation2, fonts-freefont-ttf, fonts-noto-core")
    });
    let specs = split_document_specs(2025, 4, Split::HeldOut);
    let mut faces = std::collections::BTreeSet::new();
    for spec in specs
        .iter()
        .filter(|s| matches!(s.kind, DocumentKind::TwoPage | DocumentKind::Individual) && s.index < 4)
    {
        faces.insert(spec.typeface);
        assert_ne!(spec.typeface, banso_intake::corpus::Typeface::DejaVu);
        let doc = g.generate_document(spec).expect("generate");
        let r = run(&doc, true);
        let id = format!("{} ({:?}, {:?})", doc.truth.id, spec.typeface, spec.style);
        match doc.truth.expected {
            Expected::Refused { ground } => {
                assert_eq!(r.decision.action, Action::Refuse, "{id}: {}", r.decision.summary);
                assert!(r.decision.grounds.iter().any(|x| x.ground == ground), "{id}");
            }
            _ => {
                assert_ne!(r.decision.action, Action::Refuse, "{id}: {}", r.decision.summary);
                assert_eq!(r.documents.len(), 1, "{id}");
                assert_eq!(
                    seal_check(&r).outcome,
                    Outcome::Pass,
                    "{id}: seal on the last page, greyscale={}",
                    doc.truth.greyscale
                );
            }
        }
    }
    assert!(faces.len() >= 2, "more than one unseen typeface: {faces:?}");
}
