//! `banso id`: identity documents (MRZ, citizen-ID numbers, the chip, the national-ID login, faces, liveness).

use crate::*;

/// How the chip is opened.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum AccessArg {
    Bac,
    Pace,
    /// PACE when the card offers it, else BAC.
    Auto,
}

#[derive(Subcommand)]
pub enum IdCommand {
    /// Read a chip ID card through PC/SC (BAC or PACE), then passive, chip and active authentication.
    /// Exit 0 verified, 1 access denied or rejected, 2 no reader or other error.
    Read {
        /// Part of the reader's name (default: the first reader with a card).
        #[arg(long, default_value = "")]
        reader: String,
        /// The MRZ printed on the card (or its MRZ information: number, birth date, expiry with check digits).
        #[arg(long)]
        mrz: String,
        /// CSCA trust list: PEM/DER certificate files or folders (repeatable).
        #[arg(long, required = true)]
        csca: Vec<PathBuf>,
        /// Access control: bac, pace, or auto (PACE when the card offers it).
        #[arg(long, value_enum, default_value_t = AccessArg::Auto)]
        access: AccessArg,
        #[arg(long)]
        json: bool,
        /// Write the face image from DG2 here.
        #[arg(long)]
        photo: Option<PathBuf>,
    },
    /// Serve the project's virtual test card to vpcd (demos and tests), writing its CSCA and MRZ to --out.
    TestCard {
        #[arg(long, default_value_t = 35963)]
        vpcd_port: u16,
        #[arg(long)]
        out: PathBuf,
        /// A negative card: tampered, unknown-csca or clone.
        #[arg(long)]
        negative: Option<String>,
        /// Put this portrait (JPEG or JPEG 2000) into DG2 instead of the synthetic one.
        #[arg(long)]
        face: Option<PathBuf>,
        /// The holder's 12-digit ID number in DG13 (the MRZ keeps the test card's document number).
        #[arg(long)]
        holder_id: Option<String>,
        /// The holder's full name in DG13.
        #[arg(long)]
        holder_name: Option<String>,
    },
    /// Parse a machine-readable zone (TD1: 3 lines of 30; TD3: 2 of 44; lines separated by newlines) and check
    /// every check digit. Exit 0 when all pass, 1 when one fails or the text is not an MRZ.
    Mrz {
        text: String,
        #[arg(long)]
        json: bool,
    },
    /// National-ID login by QR (OpenID Connect device authorization grant): show the QR, wait for the citizen to
    /// approve on the phone, validate the ID token. Exit 0 signed in, 1 denied/expired/invalid token, 2 error.
    Login {
        /// The provider's issuer URL (discovery at /.well-known/openid-configuration).
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        client_id: String,
        #[arg(long, default_value = "openid profile")]
        scope: String,
        /// Also write the QR as a PNG here (for a kiosk screen).
        #[arg(long)]
        qr_png: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// List the faces found in images: box, score, landmarks and the yaw cue used by the liveness check.
    FaceDetect {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// 1:1 match of the largest face in A (e.g. a live capture) against the largest face in B (e.g. the chip's
    /// DG2 photo). Exit 0 match, 1 no match, 2 no face found or another error.
    FaceMatch {
        a: PathBuf,
        b: PathBuf,
        /// Override the measured default threshold (cosine similarity).
        #[arg(long)]
        threshold: Option<f32>,
        #[arg(long)]
        json: bool,
    },
    /// Measure false-accept and false-reject rates on labelled pairs (CSV: a,b,label[,kind]; label 1 = same person;
    /// paths relative to the CSV) and propose the threshold for a target false-accept rate.
    FaceEval {
        pairs: PathBuf,
        /// Target false-accept rate (0.001 = 0.1 %).
        #[arg(long, default_value_t = 0.001)]
        target_far: f64,
        #[arg(long)]
        json: bool,
    },
    /// Liveness: check that camera frames (in order, not mirrored) show one live face following the challenge
    /// (turns such as left,right; each followed by a return to the centre). Exit 0 live, 1 not live, 2 error.
    Liveness {
        #[arg(long)]
        challenge: String,
        #[arg(required = true)]
        frames: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Check a 12-digit citizen ID number against a birth date and sex (province, century/sex, year).
    Cccd {
        number: String,
        /// Birth date, YYYY-MM-DD.
        #[arg(long)]
        dob: String,
        /// M or F.
        #[arg(long)]
        sex: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: IdCommand) -> Result<u8, Failure> {
    match command {
        IdCommand::Read {
            reader,
            mrz,
            csca,
            access,
            json,
            photo,
        } => {
            let access = match access {
                AccessArg::Bac => banso_identity::emrtd::reader::BacOrPace::Bac,
                AccessArg::Pace => banso_identity::emrtd::reader::BacOrPace::Pace,
                AccessArg::Auto => banso_identity::emrtd::reader::BacOrPace::PreferPace,
            };
            Ok(idcmd::read(&reader, &mrz, &csca, access, json, photo.as_deref())?)
        }
        IdCommand::TestCard {
            vpcd_port,
            out,
            negative,
            face,
            holder_id,
            holder_name,
        } => Ok(idcmd::test_card(
            vpcd_port,
            &out,
            negative.as_deref(),
            face.as_deref(),
            (holder_id.as_deref(), holder_name.as_deref()),
        )?),
        IdCommand::Login {
            issuer,
            client_id,
            scope,
            qr_png,
            json,
        } => {
            // The OIDC client is blocking (reqwest::blocking owns a runtime of its own): off the async runtime.
            let run = move || idcmd::login(&issuer, &client_id, &scope, qr_png.as_deref(), json);
            Ok(tokio::task::spawn_blocking(run).await.context("login task")??)
        }
        IdCommand::FaceDetect { files, json } => Ok(facecmd::detect(&files, json)?),
        IdCommand::FaceMatch {
            a,
            b,
            threshold,
            json,
        } => Ok(facecmd::face_match(&a, &b, threshold, json)?),
        IdCommand::FaceEval {
            pairs,
            target_far,
            json,
        } => Ok(facecmd::face_eval(&pairs, target_far, json)?),
        IdCommand::Liveness {
            challenge,
            frames,
            json,
        } => Ok(facecmd::liveness_check(&challenge, &frames, json)?),
        IdCommand::Mrz { text, json } => match banso_identity::mrz::Mrz::parse(&text) {
            Ok(mrz) => {
                if json {
                    println!("{}", serde_json::to_string_pretty(&mrz).context("JSON")?);
                } else {
                    println!(
                        "{:?} {} {} — {}",
                        mrz.format,
                        mrz.document_code,
                        mrz.document_number,
                        mrz.full_name()
                    );
                    for c in &mrz.checks {
                        println!(
                            "{:<16} {}  expected {} found {}",
                            c.name,
                            if c.ok { "OK  " } else { "FAIL" },
                            c.expected,
                            c.found
                        );
                    }
                }
                Ok(if mrz.all_checks_ok() { 0 } else { 1 })
            }
            Err(e) => Ok(output::fail(
                json,
                &Error::new(banso_core::Code::Id0001BadMrz, e.to_string()),
            )),
        },
        IdCommand::Cccd {
            number,
            dob,
            sex,
            json,
        } => {
            let dob = banso_identity::cccd::parse_iso_date(&dob)
                .ok_or_else(|| anyhow::anyhow!("--dob must be a date written YYYY-MM-DD"))?;
            let sex: banso_identity::cccd::Sex =
                sex.parse().map_err(|_| anyhow::anyhow!("--sex must be M or F"))?;
            let report = banso_identity::cccd::check_number(&number, dob, sex);
            if json {
                println!("{}", serde_json::to_string_pretty(&report).context("JSON")?);
            } else {
                print!("{report}");
            }
            Ok(if report.ok { 0 } else { 1 })
        }
    }
}
