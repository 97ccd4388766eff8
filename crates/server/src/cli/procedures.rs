//! `banso procedures`: the catalogue of administrative procedures (list, search, show).

use crate::*;
use banso_core::procedure::{Catalogue, Procedure};
use serde_json::json;
use std::collections::HashMap;

#[derive(Subcommand)]
pub enum ProceduresCommand {
    /// List the procedures, most used first, then by name: code, name, processing time, fee.
    List {
        /// Only procedures matching every word (diacritics optional): "dang ky khai sinh", "thuong tru".
        #[arg(long)]
        search: Option<String>,
        /// Only this category, by key or name: ho-tich, chung-thuc, cu-tru, "Cư trú", residence.
        #[arg(long)]
        category: Option<String>,
        /// Read the catalogue from this folder (catalogue.toml and one <id>.toml per procedure) instead of the
        /// one built in.
        #[arg(long)]
        catalogue: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Show one procedure by its national code (1.001193) or its id: body, legal basis, time, fee,
    /// documents, form, slip and sources. Exit 1 (PRO-0001) when the catalogue has none.
    Show {
        code: String,
        #[arg(long)]
        catalogue: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

pub fn run(command: ProceduresCommand) -> Result<u8, Failure> {
    match command {
        ProceduresCommand::List {
            search,
            category,
            catalogue,
            json,
        } => {
            let loaded = load(catalogue.as_deref())?;
            let catalogue = chosen(&loaded);
            if let Some(c) = &category {
                if catalogue.category(c).is_none() {
                    let known: Vec<&str> = catalogue.categories().iter().map(|c| c.key.as_str()).collect();
                    return Err(
                        anyhow::anyhow!("no category {c:?} (categories: {})", known.join(", ")).into(),
                    );
                }
            }
            // Usage counts come from the dossiers filed; until the registry keeps them, every count is 0.
            let usage = HashMap::new();
            let hits = catalogue.search(search.as_deref().unwrap_or(""), category.as_deref(), &usage);
            if json {
                let procedures: Vec<serde_json::Value> = hits.iter().map(|p| summary_json(p)).collect();
                println!(
                    "{}",
                    json!({ "catalogue_version": catalogue.version(), "procedures": procedures })
                );
            } else {
                for p in &hits {
                    println!(
                        "{:<10} {}  ·  {}  ·  {}",
                        p.reference(),
                        p.name,
                        p.time.label(),
                        p.fee.label()
                    );
                }
                if hits.is_empty() {
                    eprintln!("no procedure matches");
                }
            }
            Ok(0)
        }
        ProceduresCommand::Show {
            code,
            catalogue,
            json,
        } => {
            let loaded = load(catalogue.as_deref())?;
            let catalogue = chosen(&loaded);
            let p = match catalogue.get(&code) {
                Ok(p) => p,
                Err(e) => return Ok(output::fail(json, &e)),
            };
            if json {
                let mut value = serde_json::to_value(p).map_err(anyhow::Error::from)?;
                if let Some(obj) = value.as_object_mut() {
                    obj.insert("catalogue_version".into(), json!(catalogue.version()));
                }
                println!("{value}");
            } else {
                print!("{}", describe(p));
            }
            Ok(0)
        }
    }
}

/// The catalogue loaded from a folder, else the one built in.
fn chosen(loaded: &Option<Catalogue>) -> &Catalogue {
    match loaded {
        Some(c) => c,
        None => Catalogue::builtin(),
    }
}

/// The catalogue in `dir`, when one is named.
fn load(dir: Option<&std::path::Path>) -> Result<Option<Catalogue>, Failure> {
    let Some(dir) = dir else { return Ok(None) };
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    };
    let header = read(&dir.join("catalogue.toml"))?;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry.map_err(anyhow::Error::from)?.path();
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        if name.ends_with(".toml") && name != "catalogue.toml" {
            files.push((name, read(&path)?));
        }
    }
    files.sort();
    let borrowed: Vec<(&str, &str)> = files.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    let catalogue = Catalogue::parse(&header, &borrowed)
        .with_context(|| format!("the catalogue in {}", dir.display()))?;
    Ok(Some(catalogue))
}

fn summary_json(p: &Procedure) -> serde_json::Value {
    json!({
        "id": p.id,
        "code": p.code,
        "revision": p.revision,
        "name": p.name,
        "name_en": p.name_en,
        "category": p.category,
        "body": p.body,
        "working_days": p.time.working_days,
        "max_working_days": p.time.max_working_days,
        "cutoff": p.time.cutoff,
        "fee": {
            "kind": p.fee.kind.as_str(),
            "vnd": p.fee.vnd,
            "online_vnd": p.fee.online_vnd,
            "label": p.fee.label(),
        },
        "in_person": p.slip.in_person,
    })
}

/// A procedure as an operator reads it.
fn describe(p: &Procedure) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "{} — {}", p.name, p.name_en);
    let _ = writeln!(
        s,
        "code: {}   id: {}   revision: {}   category: {}",
        p.code.as_deref().unwrap_or("(none known)"),
        p.id,
        p.revision,
        p.category
    );
    let _ = writeln!(s, "body: {}", p.body);
    let _ = writeln!(s, "time: {} — {}", p.time.label(), p.time.note);
    let _ = writeln!(s, "fee: {} — {}", p.fee.label(), p.fee.note);
    let _ = writeln!(s, "legal basis:");
    for l in &p.legal_basis {
        let _ = writeln!(s, "  - {l}");
    }
    let _ = writeln!(s, "documents:");
    for d in &p.documents {
        let need = if d.required {
            match &d.group {
                Some(g) => format!("required, or another of {g}"),
                None => "required".to_string(),
            }
        } else if d.when.is_empty() {
            "optional".to_string()
        } else {
            format!("when: {}", d.when)
        };
        let _ = writeln!(
            s,
            "  - {} [{}{}; {need}] {}",
            d.key,
            d.source.as_str(),
            d.doc_type
                .as_deref()
                .map(|t| format!(", {t}"))
                .unwrap_or_default(),
            d.name
        );
    }
    let _ = writeln!(s, "form:");
    for f in &p.fields {
        let kind = f.kind.as_str();
        let prefill = f
            .prefill
            .map(|x| format!(", prefilled from {}", x.as_str()))
            .unwrap_or_default();
        let required = if f.required { ", required" } else { "" };
        let _ = writeln!(s, "  - {} ({kind}{required}{prefill}) {}", f.key, f.label);
    }
    let _ = writeln!(
        s,
        "slip: {} — {}{}",
        p.slip.result,
        p.slip.collect,
        if p.slip.in_person { " (in person)" } else { "" }
    );
    let _ = writeln!(s, "sources:");
    for src in &p.sources {
        let url = src.url.as_deref().map(|u| format!(" <{u}>")).unwrap_or_default();
        let _ = writeln!(s, "  - [{}] {}{url}", src.grade.as_str(), src.cite);
    }
    s
}
