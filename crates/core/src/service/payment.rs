//! Fees paid at a kiosk through a payment gateway (VNPAY's protocol, [`crate::payment::vnpay`]).
//!
//! A kiosk's request whose original the intake lets through is answered "payment due" with a payment bound to
//! that request (its digest), that kiosk and that amount; nothing is issued. The citizen pays through the
//! gateway; only the gateway's signed server-to-server notification (IPN) marks the payment paid — never the
//! kiosk or the browser. The request, sent again naming the payment, spends it (once; a retry of the same
//! request may spend it again) and is issued. A refused or held original asks for no fee.
//!
//! A dossier whose procedure has a fixed fee is paid the same way before it is filed: the payment is bound to
//! that kiosk, citizen, procedure and amount (not to the form, which the citizen may still correct), and spent
//! on the dossier it files.
use super::*;
use crate::payment::vnpay::{self, IpnAnswer, OrderState, PaymentRequest};
use crate::ports::PaymentRow;

/// The gateway kiosks' fees are paid through.
#[derive(Clone)]
pub struct PaymentSettings {
    /// The merchant's terminal code (`vnp_TmnCode`).
    pub tmn_code: String,
    /// The merchant's hash secret. Never logged.
    pub secret: Vec<u8>,
    /// The gateway's payment page (`…/paymentv2/vpcpay.html`).
    pub gateway_url: String,
    /// Where the gateway sends the payer's browser afterwards.
    pub return_url: String,
}

/// A fee to pay before a request is issued.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentDue {
    /// The payment's reference (the gateway's `vnp_TxnRef`).
    pub reference: String,
    pub amount_vnd: u64,
    /// The gateway's signed payment address (shown as a QR for the citizen's phone).
    pub pay_url: String,
    /// The kept intake record of a copy's request (none for a dossier).
    pub intake_id: Option<String>,
}

/// What a payment is for: bound to it when asked for, checked when it is spent.
pub(super) struct Payable<'a> {
    pub device: &'a str,
    pub holder_id: &'a str,
    /// [`request_digest`] of a copy's request, [`dossier_payment_digest`] of a dossier's.
    pub digest: String,
    pub amount_vnd: u64,
}

/// What a dossier's payment is bound to: the procedure and the citizen (the form may still change).
pub(super) fn dossier_payment_digest(procedure: &str, holder_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for part in ["dossier", procedure, holder_id.trim()] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    hex::encode(h.finalize())
}

/// What a kiosk sees of a payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PaymentView {
    pub reference: String,
    /// `pending`, `paid`, `failed` or `used`.
    pub status: String,
    pub amount_vnd: u64,
}

/// How long the gateway accepts a payment after it was asked for.
const PAY_WITHIN: time::Duration = time::Duration::minutes(15);

impl Service {
    /// The payment `what` must make first: recorded as pending, with the gateway's signed address.
    /// `order_info` is what the payer's bank shows (ASCII, the gateway's rule).
    pub(super) async fn payment_due(
        &self,
        what: &Payable<'_>,
        order_info: &str,
        intake_id: Option<&str>,
    ) -> Result<PaymentDue> {
        let gateway = self
            .payments
            .as_ref()
            .ok_or_else(|| Error::new(Code::Sys0003Internal, "no payment gateway is configured"))?;
        let reference = random_secret(&mut EntropyRng(self.entropy.as_ref()), 10).to_ascii_uppercase();
        let now = self.clock.now();
        let pay_url = vnpay::payment_url(
            &gateway.gateway_url,
            &PaymentRequest {
                tmn_code: &gateway.tmn_code,
                amount_vnd: what.amount_vnd,
                txn_ref: &reference,
                order_info: &format!("{order_info} {reference}"),
                order_type: "other",
                return_url: &gateway.return_url,
                ip_addr: "127.0.0.1",
                create_date: now,
                expire_date: now + PAY_WITHIN,
                locale: vnpay::Locale::Vn,
                bank_code: None,
            },
            &gateway.secret,
        )
        .map_err(|e| Error::new(Code::Sys0003Internal, format!("payment address: {e:?}")))?;
        self.registry
            .insert_payment(&PaymentRow {
                reference: reference.clone(),
                device: what.device.to_string(),
                request_digest: what.digest.clone(),
                holder_id: what.holder_id.trim().to_string(),
                amount_vnd: what.amount_vnd,
                status: "pending".into(),
                created_at: now,
                settled_at: None,
                gateway_ref: None,
                used_by: None,
            })
            .await?;
        Ok(PaymentDue {
            reference,
            amount_vnd: what.amount_vnd,
            pay_url,
            intake_id: intake_id.map(str::to_string),
        })
    }

    /// Spends the payment `reference` on `key` (a copy's request, a dossier's code): paid (by the gateway's
    /// word), made for `what`, and not spent on another key.
    pub(super) async fn spend_payment(&self, what: &Payable<'_>, reference: &str, key: &str) -> Result<()> {
        let payment = self
            .registry
            .payment(reference.trim())
            .await?
            .ok_or_else(|| Error::new(Code::Pay0004NoSuchPayment, "no payment has this reference"))?;
        if payment.device != what.device
            || payment.request_digest != what.digest
            || payment.amount_vnd != what.amount_vnd
        {
            return Err(Error::new(
                Code::Pay0003OtherRequest,
                "this payment was made for another request",
            ));
        }
        if payment.status == "pending" || payment.status == "failed" {
            return Err(Error::new(
                Code::Pay0002NotPaid,
                format!(
                    "the payment gateway has not confirmed this payment (it is {})",
                    payment.status
                ),
            ));
        }
        if !self.registry.use_payment(&payment.reference, key).await? {
            return Err(Error::new(
                Code::Pay0003OtherRequest,
                "this payment was spent on another request",
            ));
        }
        Ok(())
    }

    /// Where the kiosk's payment `reference` stands.
    pub async fn payment_status(&self, device: &str, reference: &str) -> Result<PaymentView> {
        match self.registry.payment(reference.trim()).await? {
            Some(p) if p.device == device => Ok(PaymentView {
                reference: p.reference,
                status: p.status,
                amount_vnd: p.amount_vnd,
            }),
            _ => Err(Error::new(
                Code::Pay0004NoSuchPayment,
                "no payment of this kiosk has this reference",
            )),
        }
    }

    /// The payment gateway's server-to-server notification (VNPAY IPN, the raw query string): checked against
    /// the merchant's secret, matched with the payment, and recorded once; the answer the gateway expects.
    pub async fn confirm_payment(&self, raw_query: &str) -> IpnAnswer {
        let Some(gateway) = self.payments.as_ref() else {
            return IpnAnswer::UnknownError;
        };
        let ipn = match vnpay::verify_ipn_query(raw_query, &gateway.secret) {
            Ok(ipn) => ipn,
            Err(e) => {
                tracing::warn!(error = ?e, "a payment notification was refused");
                return e.answer();
            }
        };
        if ipn.tmn_code() != gateway.tmn_code {
            return IpnAnswer::InvalidSignature;
        }
        let state = match self.registry.payment(ipn.txn_ref()).await {
            Ok(None) => OrderState::Unknown,
            Ok(Some(p)) if p.status == "pending" => OrderState::Pending {
                amount_vnd: p.amount_vnd,
            },
            Ok(Some(p)) => OrderState::Settled {
                amount_vnd: p.amount_vnd,
            },
            Err(e) => {
                tracing::error!(error = %e, "a payment notification could not be matched");
                return IpnAnswer::UnknownError;
            }
        };
        let answer = vnpay::answer_for(&ipn, state);
        if answer == IpnAnswer::ConfirmSuccess {
            match self
                .registry
                .settle_payment(
                    ipn.txn_ref(),
                    ipn.is_paid(),
                    ipn.transaction_no(),
                    self.clock.now(),
                )
                .await
            {
                Ok(true) => {}
                // Settled meanwhile by a concurrent notification.
                Ok(false) => return IpnAnswer::OrderAlreadyConfirmed,
                Err(e) => {
                    tracing::error!(error = %e, "a payment notification could not be recorded");
                    return IpnAnswer::UnknownError;
                }
            }
        }
        answer
    }
}
