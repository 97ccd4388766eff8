//! Sending an issued copy by e-mail: the PDF attached, the verification address in the text, through an SMTP
//! relay (lettre). The relay is the deployment's own (no TLS or login here: it sits next to the service).

use anyhow::{anyhow, Context, Result};
use lettre::message::{header::ContentType, Attachment, Mailbox, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

/// E-mails one copy may be sent in (a visit's typo corrected, a second address), at most.
pub const SENDS_PER_COPY: u32 = 3;

pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// A recipient a citizen typed: one plain address, ASCII, no display name, no comments (the core's rule,
/// [`banso_core::service::email_address`]).
pub fn recipient(address: &str) -> Option<Mailbox> {
    banso_core::service::email_address(address).ok()?.parse().ok()
}

impl Mailer {
    /// `smtp://HOST:PORT`, and the sender.
    pub fn new(url: &str, from: &str) -> Result<Self> {
        let rest = url
            .strip_prefix("smtp://")
            .ok_or_else(|| anyhow!("the SMTP relay is smtp://HOST:PORT, not {url}"))?;
        let (host, port) = rest.split_once(':').unwrap_or((rest, "25"));
        let port: u16 = port
            .trim_end_matches('/')
            .parse()
            .context("the SMTP relay's port")?;
        Ok(Self {
            transport: AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                .port(port)
                .timeout(Some(std::time::Duration::from_secs(20)))
                .build(),
            from: from.parse().map_err(|e| anyhow!("mail_from {from:?}: {e}"))?,
        })
    }

    /// Sends the copy `code` (its PDF) to `to`, with the address that verifies it.
    pub async fn send_copy(
        &self,
        to: Mailbox,
        code: &str,
        document_type: &str,
        pdf: Vec<u8>,
        verify_url: &str,
    ) -> Result<()> {
        let text = format!(
            "Kính gửi ông/bà,\n\n\
             Bản sao điện tử được chứng thực từ bản chính ({document_type}), mã {code}, được gửi kèm thư này.\n\
             Mọi người có thể kiểm tra bản sao tại: {verify_url}\n\n\
             Dear citizen,\n\n\
             The certified electronic copy of your original ({document_type}), code {code}, is attached.\n\
             Anyone can check it at: {verify_url}\n"
        );
        self.send(
            to,
            &format!("Bản sao chứng thực điện tử {code} / Certified electronic copy"),
            text,
            vec![(format!("{code}.pdf"), pdf)],
        )
        .await
    }

    /// Sends a plain-text mail with PDF attachments (name, bytes).
    pub async fn send(
        &self,
        to: Mailbox,
        subject: &str,
        text: String,
        pdfs: Vec<(String, Vec<u8>)>,
    ) -> Result<()> {
        let mut body = MultiPart::mixed().singlepart(SinglePart::plain(text));
        for (name, pdf) in pdfs {
            body = body.singlepart(Attachment::new(name).body(
                pdf,
                ContentType::parse("application/pdf").map_err(|e| anyhow!("{e}"))?,
            ));
        }
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .multipart(body)
            .map_err(|e| anyhow!("the message: {e}"))?;
        self.transport
            .send(message)
            .await
            .map_err(|e| anyhow!("the mail relay: {e}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_plain_addresses_are_taken() {
        for ok in ["an.nguyen@example.vn", "a+b@mail.example.com"] {
            assert!(super::recipient(ok).is_some(), "{ok}");
        }
        for bad in [
            "",
            "an",
            "an@localhost",
            "a@b@c.vn",
            "Nguyễn <a@b.vn>",
            "a@b.vn\r\nBcc: x@y.vn",
            "a@.vn",
            "a@vn.",
        ] {
            assert!(super::recipient(bad).is_none(), "{bad:?}");
        }
    }
}
