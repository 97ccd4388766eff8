//! A certified copy admits no visible change after signing. Forgeries made by an independent writer
//! (pyHanko's incremental writer, scripts/forge_overlay.py) append one update to a genuine copy; each one
//! that changes what a reader shows — rendered with pdftoppm to prove it — must fail verification through
//! the real server and the CLI, with its own reason, and banso's verdict must be no weaker than pyHanko's.
//! An update that paints nothing (an empty signature field, hidden or with a rectangle of no area, whatever
//! its appearance holds) still verifies, and renders identically.

mod common;

use common::*;
use std::path::Path;
use std::process::Command;

/// Grey renderings of every page of `pdf` at 30 dpi.
fn render(dir: &Path, name: &str, pdf: &Path) -> Vec<Vec<u8>> {
    let prefix = dir.join(format!("render-{name}"));
    let out = Command::new("pdftoppm")
        .args(["-r", "30", "-gray"])
        .arg(pdf)
        .arg(&prefix)
        .output()
        .expect("pdftoppm (scripts/setup.sh installs poppler-utils)");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut pages: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("render-{name}-"))
        })
        .collect();
    pages.sort();
    pages.iter().map(|p| std::fs::read(p).unwrap()).collect()
}

#[test]
fn overlays_made_by_an_independent_writer_do_not_verify() {
    let tmp = tempfile::TempDir::new().unwrap();
    let dir = tmp.path();
    let backend = Backend::local(&dir.join("data"));
    let server = backend.serve();
    let token = backend.token("officer");
    let root = backend.root_pem();
    let (_, genuine) =
        server.issue_and_fetch(&token, &[sample_page("jpeg", 100, 7), sample_page("png", 100, 8)]);
    let genuine_path = dir.join("genuine.pdf");
    std::fs::write(&genuine_path, &genuine).unwrap();
    let (_, r) = server.verify_pdf(&genuine);
    assert_eq!(r["valid"], true, "{r}");

    let forged = dir.join("forged");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/forge_overlay.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(&genuine_path)
        .arg(&forged)
        .output()
        .expect("python3");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    let before = render(dir, "genuine", &genuine_path);
    assert_eq!(before.len(), 3, "two scanned pages and the certification page");
    // (variant, page it paints over (1-based) or None when it must paint nothing, banso's reason)
    let cases = [
        ("listed", Some(1), Some("overlay_after_signing")),
        ("unlisted", Some(1), Some("overlay_after_signing")),
        ("lastpage", Some(3), Some("overlay_after_signing")),
        ("freetext", Some(1), Some("overlay_after_signing")),
        ("content", Some(1), Some("modified_after_signing")),
        ("hidden", None, None),
        ("zero", None, None),
    ];
    for (name, painted, reason) in cases {
        let file = forged.join(format!("{name}.pdf"));
        let bytes = std::fs::read(&file).unwrap();
        assert!(
            bytes.starts_with(&genuine),
            "{name}: an incremental update keeps the genuine bytes"
        );
        let after = render(dir, name, &file);
        assert_eq!(after.len(), before.len(), "{name}: same number of pages");
        for (i, (b, a)) in before.iter().zip(&after).enumerate() {
            let changed = b != a;
            assert_eq!(
                changed,
                painted == Some(i + 1),
                "{name}: page {} {} change in a reader",
                i + 1,
                if changed { "shows a" } else { "shows no" }
            );
        }

        let (status, r) = server.verify_pdf(&bytes);
        assert_eq!(status, 200, "{name}: {r}");
        let cli = backend.cli(&["verify", file.to_str().unwrap()]);
        let (ok, report) = pyhanko_validate(dir, &root, &bytes);
        let pyhanko_illegal = report.contains("ILLEGAL_MODIFICATIONS");
        match reason {
            Some(reason) => {
                assert_eq!(r["valid"], false, "{name}: {r}");
                assert_eq!(r["signature"]["reason"], reason, "{name}: {r}");
                assert_eq!(
                    r["signatures"][0]["modifications"]["reason"], reason,
                    "{name}: {r}"
                );
                assert_eq!(
                    r["signatures"][0]["integrity"]["ok"], true,
                    "{name}: the signed bytes themselves are intact"
                );
                assert_eq!(cli.status.code(), Some(1), "{name}: banso verify exits 1");
            }
            None => {
                assert_eq!(r["valid"], true, "{name}: an update that paints nothing: {r}");
                assert_eq!(cli.status.code(), Some(0), "{name}");
                assert!(!pyhanko_illegal, "{name}: pyHanko accepts it too: {report}");
            }
        }
        // banso's verdict is never weaker than pyHanko's.
        if pyhanko_illegal || !ok {
            assert_eq!(r["valid"], false, "{name}: pyHanko rejects it: {report}");
        }
    }
}
