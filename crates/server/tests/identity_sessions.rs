//! Identity sessions: a kiosk names a holder only through a session the service verified itself — the chip
//! (passive authentication to the CSCA list, active authentication over the service's nonce) then the face
//! (liveness to the service's challenge, match against DG2, with the real models), or the national-ID app
//! login (the real test provider; headless Chromium plays the phone). Without one, issuing from a kiosk is
//! 403 `AUTH-0005`; the holder comes from the session.

mod common;

use common::citizen::*;
use common::oidc::*;
use common::*;
use reqwest::Method;
use serde_json::json;

const HOLDER: (&str, &str) = ("001099012345", "Nguyễn Văn An");

#[test]
fn a_kiosk_issues_only_for_the_citizen_it_identified() {
    let tmp = tempfile::TempDir::new().unwrap();
    let mut citizens = Citizens::new(tmp.path(), &[HOLDER]);
    let backend = citizens.trusted_by(Backend::local(tmp.path()));
    let server = backend.serve();
    let kiosk = backend.token("kiosk");
    let other_kiosk = backend.token("kiosk");
    let officer = backend.token("officer");
    let page = sample_page("png", 150, 1);
    let fields = [("document_type", "Giấy khai sinh")];

    // No session: 403 with a stable code, and nothing issued.
    let (s, e) = server.issue(&kiosk, &fields, std::slice::from_ref(&page));
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("AUTH-0005")), "{e}");
    // A made-up session: the same.
    let (s, e) = server.issue_for(&kiosk, "not-a-session", &fields, std::slice::from_ref(&page));
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("AUTH-0005")), "{e}");

    // The chip alone does not name the holder yet.
    let citizen = &mut citizens.people[0];
    let view = server.present_chip(&kiosk, citizen);
    assert_eq!(view["step"], "face");
    let session = view["id"].as_str().unwrap().to_string();
    let (s, e) = server.issue_for(&kiosk, &session, &fields, std::slice::from_ref(&page));
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("AUTH-0005")), "{e}");

    // The face, following the service's challenge: verified, with the chip's holder.
    let (s, verified) = server.show_face(&kiosk, &session, &server_frames(&view));
    assert_eq!(
        (s, verified["step"].as_str()),
        (200, Some("verified")),
        "{verified}"
    );
    assert_eq!(verified["holder"]["id_number"], HOLDER.0);
    assert_eq!(verified["holder"]["full_name"], HOLDER.1);
    assert_eq!(verified["method"], "chip_and_face");

    // Another kiosk cannot use it, nor see it.
    let (s, e) = server.issue_for(&other_kiosk, &session, &fields, std::slice::from_ref(&page));
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("AUTH-0005")), "{e}");
    let (s, e) = server.kiosk_json(
        &other_kiosk,
        Method::GET,
        &format!("/api/v1/identity/sessions/{session}"),
        None,
    );
    assert_eq!((s, e["error"]["code"].as_str()), (404, Some("ID-0004")), "{e}");

    // The request may not name someone else.
    let mut other = fields.to_vec();
    other.extend([("holder_id", "079199001234"), ("holder_name", "Lê Thị Hoa")]);
    let (s, e) = server.issue_for(&kiosk, &session, &other, std::slice::from_ref(&page));
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("AUTH-0006")), "{e}");

    // Issued for the proven holder (the intake is off here: a kiosk's request is held for an officer, and
    // the held request names the proven holder).
    let (s, held) = server.issue_for(&kiosk, &session, &fields, std::slice::from_ref(&page));
    assert_eq!(s, 202, "{held}");
    let record = server
        .http
        .get(server.url(&format!("/api/v1/intake/{}", held["intake_id"].as_str().unwrap())))
        .bearer_auth(&officer)
        .send()
        .unwrap()
        .json::<serde_json::Value>()
        .unwrap();
    assert_eq!(record["holder_id"], HOLDER.0, "{record}");

    // Ended (the citizen left): the session is gone.
    let (s, _) = server.kiosk_json(
        &kiosk,
        Method::DELETE,
        &format!("/api/v1/identity/sessions/{session}"),
        None,
    );
    assert_eq!(s, 204);
    let (s, e) = server.issue_for(&kiosk, &session, &fields, std::slice::from_ref(&page));
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("AUTH-0005")), "{e}");

    // Officers check identity at the counter: no identity sessions for them.
    let (s, e) = server.kiosk_json(
        &officer,
        Method::POST,
        "/api/v1/identity/sessions",
        Some(json!({"method": "chip"})),
    );
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("AUTH-0003")), "{e}");
    // A way the service does not offer (no provider configured here).
    let (s, e) = server.kiosk_json(
        &kiosk,
        Method::POST,
        "/api/v1/identity/sessions",
        Some(json!({"method": "app"})),
    );
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("ID-0006")), "{e}");
}

fn server_frames(view: &serde_json::Value) -> Vec<Vec<u8>> {
    Server::live_frames(&view["challenge"])
}

#[test]
fn another_face_a_held_up_photo_and_a_forged_chip_get_no_identity() {
    let tmp = tempfile::TempDir::new().unwrap();
    // The second card is someone else's: its portrait is Joe Biden's.
    let mut citizens = Citizens::with_cards(
        tmp.path(),
        &[HOLDER, ("079199001234", "Lê Thị Hoa")],
        |i, p| {
            if i == 1 {
                p.face_image = Some(chip_portrait("fr_biden_0.jpg"));
            }
        },
    );
    let backend = citizens.trusted_by(Backend::local(tmp.path()));
    let server = backend.serve();
    let kiosk = backend.token("kiosk");

    // Another person's card, and the person at the camera alive and following the turns: the face does
    // not match the chip's.
    let view = server.present_chip(&kiosk, &mut citizens.people[1]);
    let session = view["id"].as_str().unwrap().to_string();
    let (s, e) = server.show_face(&kiosk, &session, &server_frames(&view));
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("FACE-0006")), "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("below the threshold"),
        "{e}"
    );
    let citizen = &mut citizens.people[0];

    // A frame larger than a camera's is refused before it is decoded, and spends no attempt.
    let mut wide = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut wide, 50)
        .encode_image(&image::RgbImage::new(1300, 16))
        .unwrap();
    let (s, e) = server.show_face(&kiosk, &session, &[wide]);
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("FACE-0002")), "{e}");
    assert!(
        e["error"]["message"].as_str().unwrap().contains("at most 1280"),
        "{e}"
    );

    // The holder's photo held up to the camera and tilted about: not live (the same session: its second
    // and third attempts).
    let photo = image::open(face_photo("fr_obama_0.jpg")).unwrap().to_rgb8();
    let held_up: Vec<Vec<u8>> = [0.0f32, 0.3, 0.6, 0.7, 0.3, 0.0, -0.3, -0.6, -0.7, -0.3, 0.0]
        .iter()
        .map(|a| {
            let mut out = Vec::new();
            let img = banso_face::liveness::flat_picture_turned(&photo, *a, 1.5);
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
                .encode_image(&img)
                .unwrap();
            out
        })
        .collect();
    let (s, e) = server.show_face(&kiosk, &session, &held_up);
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("FACE-0005")), "{e}");
    // The third failure ends the session: even the right face is too late.
    let (s, e) = server.show_face(&kiosk, &session, &held_up);
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("ID-0007")), "{e}");
    let (s, e) = server.show_face(&kiosk, &session, &server_frames(&view));
    assert_eq!((s, e["error"]["code"].as_str()), (404, Some("ID-0004")), "{e}");

    // A chip that signs another nonce than the session's (a replayed read): rejected, and the session ends.
    let (s, start) = server.kiosk_json(
        &kiosk,
        Method::POST,
        "/api/v1/identity/sessions",
        Some(json!({"method": "chip"})),
    );
    assert_eq!(s, 201);
    let replay = Server::chip_read(citizen, [0x5a; 8]);
    let id = start["id"].as_str().unwrap();
    let (s, e) = server.kiosk_json(
        &kiosk,
        Method::POST,
        &format!("/api/v1/identity/sessions/{id}/chip"),
        Some(replay),
    );
    assert_eq!((s, e["error"]["code"].as_str()), (422, Some("ID-0003")), "{e}");
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("active authentication"),
        "{e}"
    );
    let (s, e) = server.kiosk_json(
        &kiosk,
        Method::GET,
        &format!("/api/v1/identity/sessions/{id}"),
        None,
    );
    assert_eq!((s, e["error"]["code"].as_str()), (404, Some("ID-0004")), "{e}");
}

#[test]
fn chips_that_are_altered_cloned_or_from_an_unknown_country_signer_are_rejected() {
    let tmp = tempfile::TempDir::new().unwrap();
    let people = [HOLDER, HOLDER, HOLDER, HOLDER];
    let mut citizens = Citizens::with_cards(tmp.path(), &people, |i, p| match i {
        0 => p.change_after_signing = Some(13), // the name changed after the SOD was signed
        1 => p.clone_without_aa_key = true,     // a copy of the data without the chip's private key
        2 => p.unknown_csca = true,             // signed by a CSCA not on the list
        _ => p.active_authentication = false,   // no active authentication at all
    });
    let backend = citizens.trusted_by(Backend::local(tmp.path()));
    let server = backend.serve();
    let kiosk = backend.token("kiosk");
    for (i, want) in [
        "data group hashes",
        "active authentication",
        "certificate chain",
        "active authentication",
    ]
    .iter()
    .enumerate()
    {
        let (s, e) = server.try_chip(&kiosk, &mut citizens.people[i]);
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (422, Some("ID-0003")),
            "card {i}: {e}"
        );
        assert!(
            e["error"]["message"].as_str().unwrap().contains(want),
            "card {i}: {e}"
        );
    }
}

#[test]
fn the_app_login_verifies_a_session_when_the_citizen_approves_on_the_phone() {
    let tmp = tempfile::TempDir::new().unwrap();
    let provider = provider(600);
    let backend = Backend::local(tmp.path())
        .with_env("BANSO_OIDC_ISSUER", &provider.1)
        .with_env("BANSO_OIDC_CLIENT_ID", "banso-kiosk")
        .with_env("BANSO_OIDC_SCOPE", "openid profile citizen");
    let server = backend.serve();
    let kiosk = backend.token("kiosk");
    let (s, view) = server.kiosk_json(
        &kiosk,
        Method::POST,
        "/api/v1/identity/sessions",
        Some(json!({"method": "app"})),
    );
    assert_eq!((s, view["step"].as_str()), (201, Some("app")), "{view}");
    let id = view["id"].as_str().unwrap();
    let uri = view["qr_uri"].as_str().unwrap();
    assert!(uri.starts_with(&provider.1), "{uri}");
    // Not approved yet: pending (and issuance refused).
    let (s, e) = server.issue_for(
        &kiosk,
        id,
        &[("document_type", "Giấy khai sinh")],
        &[sample_page("png", 150, 1)],
    );
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("AUTH-0005")), "{e}");
    phone(uri, "approve");
    let started = std::time::Instant::now();
    let verified = loop {
        std::thread::sleep(std::time::Duration::from_millis(500));
        let (s, v) = server.kiosk_json(
            &kiosk,
            Method::POST,
            &format!("/api/v1/identity/sessions/{id}/app"),
            None,
        );
        assert_eq!(s, 200, "{v}");
        if v["step"] == "verified" {
            break v;
        }
        assert!(started.elapsed().as_secs() < 30, "never verified: {v}");
    };
    assert_eq!(verified["method"], "app");
    assert_eq!(verified["holder"]["id_number"], HOLDER.0);
    assert_eq!(verified["holder"]["full_name"], HOLDER.1);
}

#[test]
fn a_kiosk_e_mails_only_its_citizens_copy_a_few_times_to_a_plain_address() {
    let tmp = tempfile::TempDir::new().unwrap();
    let maildir = tmp.path().join("mail");
    let relay = smtp(&maildir);
    let mut citizens = Citizens::new(tmp.path(), &[HOLDER, ("079199001234", "Lê Thị Hoa")]);
    let backend = citizens
        .trusted_by(Backend::local(tmp.path()))
        .with_env("BANSO_SMTP_URL", &format!("smtp://127.0.0.1:{}", relay.1));
    let server = backend.serve();
    let kiosk = backend.token("kiosk");
    let officer = backend.token("officer");
    let issue_for = |id: &str, name: &str| {
        let (s, issued) = server.issue(
            &officer,
            &[
                ("holder_id", id),
                ("holder_name", name),
                ("document_type", "Giấy khai sinh"),
            ],
            &[sample_page("png", 150, 7)],
        );
        assert_eq!(s, 201, "{issued}");
        issued["code"].as_str().unwrap().to_string()
    };
    let mine = issue_for(HOLDER.0, HOLDER.1);
    let theirs = issue_for("079199001234", "Lê Thị Hoa");
    let session = server.identify(&kiosk, &mut citizens.people[0]);
    let email = |code: &str, session: &str, to: &str| {
        let r = server
            .http
            .post(server.url(&format!("/api/v1/copies/{code}/email")))
            .bearer_auth(&kiosk)
            .header("Banso-Identity-Session", session)
            .json(&json!({ "to": to }))
            .send()
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json::<serde_json::Value>().unwrap_or_default())
    };
    // Without an identified citizen: nothing.
    let (s, e) = email(&mine, "no-session", "an@example.vn");
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("AUTH-0005")), "{e}");
    // Someone else's copy: nothing.
    let (s, e) = email(&theirs, &session, "an@example.vn");
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("DEL-0004")), "{e}");
    // Not a plain address (a header injection, a display name): nothing.
    for bad in ["an@example.vn\r\nBcc: x@evil.example", "An <an@example.vn>", "an"] {
        let (s, e) = email(&mine, &session, bad);
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (422, Some("DEL-0001")),
            "{bad:?}: {e}"
        );
    }
    assert_eq!(mails(&maildir), 0);
    // The citizen's own copy: sent, three times at most.
    for _ in 0..3 {
        let (s, e) = email(&mine, &session, "an@example.vn");
        assert_eq!(s, 202, "{e}");
    }
    let (s, e) = email(&mine, &session, "an@example.vn");
    assert_eq!((s, e["error"]["code"].as_str()), (409, Some("DEL-0003")), "{e}");
    assert_eq!(mails(&maildir), 3);

    // The wallet: the identified citizen's copies, and only theirs.
    let wallet = |session: &str| {
        let r = server
            .http
            .get(server.url("/api/v1/wallet"))
            .bearer_auth(&kiosk)
            .header("Banso-Identity-Session", session)
            .send()
            .unwrap();
        (
            r.status().as_u16(),
            r.json::<serde_json::Value>().unwrap_or_default(),
        )
    };
    let (s, w) = wallet(&session);
    assert_eq!(s, 200, "{w}");
    let codes: Vec<&str> = w["copies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, vec![mine.as_str()], "{w}");
    assert!(w["copies"][0]["qr_url"].as_str().unwrap().contains("?k="), "{w}");
    let (s, e) = wallet("no-session");
    assert_eq!((s, e["error"]["code"].as_str()), (403, Some("AUTH-0005")), "{e}");
}
