//! `banso token`: API tokens (create, list, revoke).

use crate::*;

/// The roles a token can have, as the command line names them.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum RoleArg {
    Officer,
    Kiosk,
    /// Another agency's system (the dossier feed, documents pulled by URI).
    Agency,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Officer => Role::Officer,
            RoleArg::Kiosk => Role::Kiosk,
            RoleArg::Agency => Role::Agency,
        }
    }
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create a token; it is printed once and stored only as its SHA-256.
    Create {
        #[arg(long, value_enum)]
        role: RoleArg,
        #[arg(long, default_value = "")]
        name: String,
        /// The token stops working this many days from now (default: it does not expire).
        #[arg(long)]
        expires_in_days: Option<u32>,
        #[arg(long)]
        json: bool,
    },
    /// Make a one-time enrolment code for a kiosk named NAME, valid 24 hours and printed once: `banso kiosk
    /// --enrol-code CODE` exchanges it for that kiosk's own token (as the back office's fleet page does).
    EnrolCode {
        #[arg(long)]
        name: String,
        #[arg(long)]
        json: bool,
    },
    /// The kiosks: each kiosk token not revoked, when its device was last heard from and what its last
    /// heartbeat said of each peripheral (scanner, printer, card reader, camera).
    Fleet {
        #[arg(long)]
        json: bool,
    },
    /// List the tokens: id, role, name, created, expires, last used, revoked (never the token itself).
    List {
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id; it stops working at once. Exit 1 when no unrevoked token has this id.
    Revoke {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: TokenCommand, common: &Common) -> Result<u8, Failure> {
    match command {
        TokenCommand::Create {
            role,
            name,
            expires_in_days,
            json,
        } => {
            let app = open(common).await?;
            let role = Role::from(role);
            let expires_at =
                expires_in_days.map(|d| time::OffsetDateTime::now_utc() + time::Duration::days(i64::from(d)));
            let (record, token) = app
                .service
                .create_token(role, &name, expires_at)
                .await
                .map_err(|e| Failure::domain(e, json))?;
            if json {
                let mut out = output::token_json(&record);
                out["token"] = serde_json::Value::String(token);
                println!("{out}");
            } else {
                println!("{token}");
            }
            Ok(0)
        }
        TokenCommand::EnrolCode { name, json } => {
            let app = open(common).await?;
            let code = app
                .service
                .enrolment_code(&name, "operator (command line)", "command line")
                .await
                .map_err(|e| Failure::domain(e, json))?;
            if json {
                println!("{}", serde_json::json!({ "code": code, "name": name.trim() }));
            } else {
                println!("{code}");
            }
            Ok(0)
        }
        TokenCommand::Fleet { json } => {
            let app = open(common).await?;
            let fleet = app.service.fleet().await.map_err(|e| Failure::domain(e, json))?;
            let rows: Vec<serde_json::Value> = fleet
                .iter()
                .map(|e| {
                    let device = e.device.as_ref();
                    serde_json::json!({
                        "id": e.token.id,
                        "name": e.token.name,
                        "last_seen": device
                            .and_then(|d| d.last_seen)
                            .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()),
                        "state": device
                            .and_then(|d| serde_json::from_str::<serde_json::Value>(&d.state).ok())
                            .unwrap_or(serde_json::Value::Null),
                    })
                })
                .collect();
            if json {
                println!("{}", serde_json::Value::Array(rows));
            } else {
                for r in &rows {
                    println!(
                        "{}\t{}\t{}\t{}",
                        r["id"].as_str().unwrap_or(""),
                        r["name"].as_str().unwrap_or(""),
                        r["last_seen"].as_str().unwrap_or("never"),
                        r["state"]
                    );
                }
            }
            Ok(0)
        }
        TokenCommand::List { json } => {
            let app = open(common).await?;
            let tokens = app.service.tokens().await.map_err(|e| Failure::domain(e, json))?;
            if json {
                let list: Vec<_> = tokens.iter().map(output::token_json).collect();
                println!("{}", serde_json::Value::Array(list));
            } else {
                for t in &tokens {
                    let j = output::token_json(t);
                    println!(
                        "{}  {:8} {:20} created {}  expires {}  last used {}{}",
                        t.id,
                        t.role.as_str(),
                        t.name,
                        j["created_at"].as_str().unwrap_or(""),
                        j["expires_at"].as_str().unwrap_or("never"),
                        j["last_used_at"].as_str().unwrap_or("never"),
                        if t.revoked { "  REVOKED" } else { "" }
                    );
                }
            }
            Ok(0)
        }
        TokenCommand::Revoke { id, json } => {
            let app = open(common).await?;
            app.service
                .revoke_token(&id)
                .await
                .map_err(|e| Failure::domain(e, json))?;
            if json {
                println!("{}", serde_json::json!({ "id": id.trim(), "revoked": true }));
            } else {
                println!("token {} revoked", id.trim());
            }
            Ok(0)
        }
    }
}
