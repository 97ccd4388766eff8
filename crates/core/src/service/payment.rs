//! Fees paid at a kiosk through a payment gateway (VNPAY's protocol, [`crate::payment::vnpay`]).
//!
//! A kiosk's request whose original the intake lets through is answered "payment due" with a payment bound to
//! that request (its digest), that kiosk and that amount; nothing is issued. The citizen pays through the
//! gateway; only the gateway's signed server-to-server notification (IPN) marks the payment paid — never the
//! kiosk or the browser. The request, sent again naming the payment, spends it (once; a retry of the same
//! request may spend it again) and is issued. A refused or held original asks for no fee.
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
    /// The kept intake record of the request.
    pub intake_id: String,
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
    /// The payment a kiosk's request must make before it is issued: recorded as pending, with the
    /// gateway's signed address.
    pub(super) async fn payment_due(
        &self,
        request: &IssueRequest,
        device: &str,
        amount_vnd: u64,
        intake_id: &str,
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
                amount_vnd,
                txn_ref: &reference,
                order_info: &format!("Le phi chung thuc ban sao {reference}"),
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
                device: device.to_string(),
                request_digest: request_digest(request),
                holder_id: request.holder_id.trim().to_string(),
                amount_vnd,
                status: "pending".into(),
                created_at: now,
                settled_at: None,
                gateway_ref: None,
                used_by: None,
            })
            .await?;
        Ok(PaymentDue {
            reference,
            amount_vnd,
            pay_url,
            intake_id: intake_id.to_string(),
        })
    }

    /// Spends the payment a kiosk's request names: paid (by the gateway's word), for this request, kiosk and
    /// amount, and not spent on another request.
    pub(super) async fn spend_payment(
        &self,
        request: &IssueRequest,
        device: &str,
        reference: &str,
        amount_vnd: u64,
    ) -> Result<()> {
        let payment = self
            .registry
            .payment(reference.trim())
            .await?
            .ok_or_else(|| Error::new(Code::Pay0004NoSuchPayment, "no payment has this reference"))?;
        if payment.device != device
            || payment.request_digest != request_digest(request)
            || payment.amount_vnd != amount_vnd
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
        // Spent once; the same request (its idempotency key, else the payment itself) may retry.
        let key = request
            .request_key
            .clone()
            .unwrap_or_else(|| reference.to_string());
        if !self.registry.use_payment(&payment.reference, &key).await? {
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
