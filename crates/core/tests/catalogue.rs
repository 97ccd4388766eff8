//! The embedded catalogue of procedures, checked as a whole: every file in `crates/core/procedures/` is
//! embedded and parses, there are at least ten procedures, every prefilled field reads a fact a verified
//! identity carries, every document type is one the intake knows (`crates/intake/doc-types.toml`), and
//! `docs/procedures.md` lists every procedure.

use banso_core::identity::{Method, ProvenHolder};
use banso_core::procedure::{Catalogue, DocSource, BUILTIN_PROCEDURES};
use std::collections::HashSet;
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn every_procedure_file_is_embedded_and_parses() {
    let mut on_disk: Vec<String> = std::fs::read_dir(root().join("procedures"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".toml") && n != "catalogue.toml")
        .collect();
    on_disk.sort();
    let mut embedded: Vec<String> = BUILTIN_PROCEDURES.iter().map(|(n, _)| n.to_string()).collect();
    embedded.sort();
    assert_eq!(
        on_disk, embedded,
        "crates/core/procedures/ and procedure::BUILTIN_PROCEDURES differ"
    );
    for (name, text) in BUILTIN_PROCEDURES {
        let on_disk = std::fs::read_to_string(root().join("procedures").join(name)).unwrap();
        assert_eq!(&on_disk, text, "{name}");
    }
    let catalogue = Catalogue::builtin();
    assert!(catalogue.procedures().len() >= 10, "at least ten procedures");
}

#[test]
fn ids_and_codes_are_unique_and_every_procedure_is_sourced() {
    let catalogue = Catalogue::builtin();
    let mut ids = HashSet::new();
    let mut codes = HashSet::new();
    for p in catalogue.procedures() {
        assert!(ids.insert(&p.id), "{} twice", p.id);
        if let Some(code) = &p.code {
            assert!(codes.insert(code), "{code} twice");
        }
        assert!(!p.sources.is_empty(), "{}: no source", p.id);
        assert!(
            catalogue.categories().iter().any(|c| c.key == p.category),
            "{}",
            p.id
        );
        assert!(
            !p.fields.is_empty() && !p.documents.is_empty(),
            "{}: no form or no documents",
            p.id
        );
    }
}

#[test]
fn every_prefilled_field_reads_a_fact_a_verified_identity_carries() {
    // A holder the chip proved, with every fact it can carry: each prefilled field must get a value from it.
    let holder = ProvenHolder {
        id_number: "001099012345".into(),
        full_name: "NGUYỄN VĂN AN".into(),
        birth_date: Some("01/05/1999".into()),
        assurance: "high".into(),
    };
    for p in Catalogue::builtin().procedures() {
        let prefilled = p.prefill(&holder, Method::ChipAndFace);
        let wanted: Vec<&str> = p
            .fields
            .iter()
            .filter(|f| f.prefill.is_some())
            .map(|f| f.key.as_str())
            .collect();
        let got: Vec<&str> = prefilled.iter().map(|f| f.key.as_str()).collect();
        assert_eq!(got, wanted, "{}", p.id);
        assert!(
            !wanted.is_empty(),
            "{}: nothing prefilled from the verified identity",
            p.id
        );
        assert!(prefilled.iter().all(|f| f.from == "chip"));
    }
}

#[test]
fn every_document_type_is_one_the_intake_knows() {
    let text = std::fs::read_to_string(root().join("../intake/doc-types.toml")).unwrap();
    let list: toml::Value = toml::from_str(&text).unwrap();
    let mut known = HashSet::new();
    for t in list["type"].as_array().unwrap() {
        known.insert(t["class"].as_str().unwrap().to_string());
    }
    for p in list["paper"].as_array().unwrap() {
        known.insert(p["id"].as_str().unwrap().to_string());
    }
    assert!(known.contains("birth_certificate"), "the intake's list was read");
    for p in Catalogue::builtin().procedures() {
        for d in &p.documents {
            if let Some(t) = &d.doc_type {
                assert!(
                    known.contains(t),
                    "{}: document {} names {t}, unknown to the intake",
                    p.id,
                    d.key
                );
            }
            if d.source != DocSource::Scan {
                assert!(
                    d.doc_type.is_some(),
                    "{}: {} may come from the wallet",
                    p.id,
                    d.key
                );
            }
        }
    }
}

#[test]
fn docs_procedures_md_lists_every_procedure() {
    let doc = std::fs::read_to_string(root().join("../../docs/procedures.md")).unwrap();
    for p in Catalogue::builtin().procedures() {
        assert!(
            doc.contains(&format!("`{}`", p.id)),
            "docs/procedures.md does not list {}",
            p.id
        );
        if let Some(code) = &p.code {
            assert!(
                doc.contains(code.as_str()),
                "docs/procedures.md does not give {code}"
            );
        }
    }
    assert!(
        doc.contains(Catalogue::builtin().version()),
        "docs/procedures.md names another version"
    );
}
