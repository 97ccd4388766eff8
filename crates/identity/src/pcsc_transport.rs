//! A card reached through the PC/SC daemon (`pcscd`, via libpcsclite and the `pcsc` crate): a real
//! USB/NFC reader on a kiosk, or vpcd's virtual reader in tests (see [`crate::vpcd`]).
//!
//! Only built with the `pcsc` cargo feature, so crates that never touch a reader do not link
//! libpcsclite.

use std::ffi::CString;
use std::time::{Duration, Instant};

use crate::emrtd::card::CardError;
use pcsc::{Context, Protocol, Protocols, ReaderState, Scope, ShareMode, State};

/// The reader-name fragment of vpcd's virtual readers ("Virtual PCD 00 00", "Virtual PCD 00 01").
pub const VPCD_READER: &str = "Virtual PCD";

/// Why talking to a card over PC/SC failed.
#[derive(Debug, thiserror::Error)]
pub enum PcscError {
    /// pcscd is not running or not reachable (socket missing, wrong namespace).
    #[error("the PC/SC service is not available: {0}")]
    NoService(pcsc::Error),
    /// No reader name contains the requested fragment.
    #[error("no smart card reader matches {wanted:?} (readers: {readers:?})")]
    NoReader { wanted: String, readers: Vec<String> },
    /// Matching readers exist but none holds a card (before the deadline, for the waiting calls).
    #[error("no card in a reader matching {0:?}")]
    NoCard(String),
    /// The card left the reader (or was reset by another application) during the session.
    #[error("the card was removed or reset")]
    CardRemoved,
    /// The command APDU is longer than PC/SC can carry.
    #[error("command APDU of {0} bytes is too long")]
    ApduTooLong(usize),
    /// The card answered with less than a status word.
    #[error("the card answered {0} bytes, less than a status word")]
    ShortResponse(usize),
    /// Any other PC/SC failure.
    #[error("PC/SC error: {0}")]
    Pcsc(pcsc::Error),
}

impl From<pcsc::Error> for PcscError {
    fn from(e: pcsc::Error) -> Self {
        match e {
            pcsc::Error::NoService | pcsc::Error::ServiceStopped | pcsc::Error::Shutdown => {
                Self::NoService(e)
            }
            pcsc::Error::RemovedCard
            | pcsc::Error::ResetCard
            | pcsc::Error::NoSmartcard
            | pcsc::Error::UnpoweredCard
            | pcsc::Error::ReaderUnavailable => Self::CardRemoved,
            other => Self::Pcsc(other),
        }
    }
}

fn establish() -> Result<Context, PcscError> {
    Context::establish(Scope::User).map_err(PcscError::NoService)
}

fn reader_names(ctx: &Context) -> Result<Vec<CString>, PcscError> {
    match ctx.list_readers_owned() {
        Ok(names) => Ok(names),
        Err(pcsc::Error::NoReadersAvailable) => Ok(Vec::new()),
        Err(e) => Err(e.into()),
    }
}

/// The names of the readers pcscd knows, whether or not they hold a card.
pub fn list_readers() -> Result<Vec<String>, PcscError> {
    let ctx = establish()?;
    Ok(reader_names(&ctx)?
        .iter()
        .map(|n| n.to_string_lossy().into_owned())
        .collect())
}

/// Whether pcscd currently sees a card in any reader whose name contains `reader` (no
/// connection is made). pcscd learns of insertions and removals by polling, so this lags the
/// physical event by up to half a second with vpcd.
pub fn card_present(reader: &str) -> Result<bool, PcscError> {
    let ctx = establish()?;
    let mut states: Vec<ReaderState> = matching_readers(&ctx, reader)?
        .into_iter()
        .map(|n| ReaderState::new(n, State::UNAWARE))
        .collect();
    ctx.get_status_change(Duration::ZERO, &mut states)?;
    Ok(states.iter().any(|s| s.event_state().contains(State::PRESENT)))
}

/// A connected card: send command APDUs, get response APDUs.
pub struct PcscCard {
    card: pcsc::Card,
    // Kept for the lifetime of the connection.
    _ctx: Context,
    reader: String,
    protocol: Option<Protocol>,
    atr: Vec<u8>,
    rx: Vec<u8>,
}

impl std::fmt::Debug for PcscCard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PcscCard")
            .field("reader", &self.reader)
            .field("protocol", &self.protocol)
            .field("atr", &self.atr)
            .finish_non_exhaustive()
    }
}

impl PcscCard {
    /// Connects (shared mode, T=0 or T=1) to the card in the first reader whose name contains
    /// `reader` and that holds a card. Fails at once if there is none; see [`Self::wait`].
    pub fn connect(reader: &str) -> Result<Self, PcscError> {
        let ctx = establish()?;
        let names = matching_readers(&ctx, reader)?;
        let mut last = PcscError::NoCard(reader.to_owned());
        for name in names {
            match Self::connect_exact(&ctx, &name) {
                Ok(card) => return Ok(card),
                Err(e @ PcscError::CardRemoved) => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(match last {
            PcscError::CardRemoved => PcscError::NoCard(reader.to_owned()),
            other => other,
        })
    }

    /// Like [`Self::connect`], but waits up to `timeout` for a matching reader to appear and hold
    /// a card (a citizen putting the ID card on the reader; vpcd noticing a virtual card).
    pub fn wait(reader: &str, timeout: Duration) -> Result<Self, PcscError> {
        let deadline = Instant::now() + timeout;
        let ctx = establish()?;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let names = match matching_readers(&ctx, reader) {
                Ok(names) => names,
                Err(PcscError::NoReader { .. }) if !left.is_zero() => {
                    std::thread::sleep(left.min(Duration::from_millis(100)));
                    continue;
                }
                Err(e) => return Err(e),
            };
            let mut states: Vec<ReaderState> = names
                .iter()
                .map(|n| ReaderState::new(n.clone(), State::UNAWARE))
                .collect();
            // The first call reports the current state at once.
            ctx.get_status_change(Duration::ZERO, &mut states)?;
            for state in &states {
                // A MUTE card is tried too: pcscd marks the slot mute when a reset fails (the
                // previous card left during a disconnect) and keeps that mark until it sees the
                // slot empty, which it never does if the next card arrives within one poll.
                // Connecting powers the new card up.
                if state.event_state().contains(State::PRESENT) {
                    match Self::connect_exact(&ctx, state.name()) {
                        Ok(card) => return Ok(card),
                        // Removed again, or not answering yet: keep waiting.
                        Err(PcscError::CardRemoved | PcscError::Pcsc(pcsc::Error::UnresponsiveCard)) => {}
                        Err(e) => return Err(e),
                    }
                }
            }
            if left.is_zero() {
                return Err(PcscError::NoCard(reader.to_owned()));
            }
            for state in &mut states {
                state.sync_current_state();
            }
            match ctx.get_status_change(left.min(Duration::from_millis(500)), &mut states) {
                Ok(()) | Err(pcsc::Error::Timeout) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }

    fn connect_exact(ctx: &Context, name: &std::ffi::CStr) -> Result<Self, PcscError> {
        let card = ctx.connect(name, ShareMode::Shared, Protocols::T0 | Protocols::T1)?;
        let status = card.status2_owned()?;
        Ok(Self {
            protocol: status.protocol2(),
            atr: status.atr().to_vec(),
            card,
            _ctx: ctx.clone(),
            reader: name.to_string_lossy().into_owned(),
            rx: vec![0; pcsc::MAX_BUFFER_SIZE_EXTENDED],
        })
    }

    /// The reader's full name.
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// The card's ATR as the reader reported it on connect.
    pub fn atr(&self) -> &[u8] {
        &self.atr
    }

    /// The negotiated protocol (`T1` for contactless cards and vpcd).
    pub fn protocol(&self) -> Option<Protocol> {
        self.protocol
    }

    /// Sends one command APDU (short or extended length) and returns the response APDU, data
    /// followed by SW1 SW2. Under T=0 the `61xx` (GET RESPONSE) and `6Cxx` (wrong Le) answers are
    /// handled here, as ISO 7816-3 expects of the transport layer.
    pub fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, PcscError> {
        if apdu.len() > pcsc::MAX_BUFFER_SIZE_EXTENDED {
            return Err(PcscError::ApduTooLong(apdu.len()));
        }
        let mut response = self.transmit_raw(apdu)?;
        if self.protocol != Some(Protocol::T0) {
            return Ok(response);
        }
        // T=0 only: the card cannot send data in the same exchange as the command.
        if let ([.., 0x6C, le], [cla, ins, p1, p2, ..]) = (response.as_slice(), apdu) {
            let retry = [*cla, *ins, *p1, *p2, *le];
            response = self.transmit_raw(&retry)?;
        }
        let mut data = Vec::new();
        while let [.., 0x61, available] = response.as_slice() {
            let available = *available;
            response.truncate(response.len() - 2);
            data.append(&mut response);
            let cla = apdu.first().copied().unwrap_or(0) & 0x03;
            response = self.transmit_raw(&[cla, 0xC0, 0x00, 0x00, available])?;
        }
        data.append(&mut response);
        Ok(data)
    }

    fn transmit_raw(&mut self, apdu: &[u8]) -> Result<Vec<u8>, PcscError> {
        let response = self.card.transmit(apdu, &mut self.rx)?;
        if response.len() < 2 {
            return Err(PcscError::ShortResponse(response.len()));
        }
        Ok(response.to_vec())
    }

    /// Whether the card is still in the reader and connected.
    pub fn is_present(&self) -> bool {
        self.card
            .status2_owned()
            .map(|s| s.status().contains(pcsc::Status::PRESENT))
            .unwrap_or(false)
    }
}

impl crate::emrtd::card::Card for PcscCard {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, CardError> {
        PcscCard::transmit(self, apdu).map_err(CardError::from)
    }
}

impl From<PcscError> for CardError {
    fn from(e: PcscError) -> Self {
        match e {
            PcscError::NoCard(_) | PcscError::CardRemoved => CardError::NoCard,
            PcscError::ApduTooLong(_) => CardError::InvalidCommand(e.to_string()),
            other => CardError::Transport(other.to_string()),
        }
    }
}

fn matching_readers(ctx: &Context, wanted: &str) -> Result<Vec<CString>, PcscError> {
    let names = reader_names(ctx)?;
    let matching: Vec<CString> = names
        .iter()
        .filter(|n| n.to_string_lossy().contains(wanted))
        .cloned()
        .collect();
    if matching.is_empty() {
        return Err(PcscError::NoReader {
            wanted: wanted.to_owned(),
            readers: names.iter().map(|n| n.to_string_lossy().into_owned()).collect(),
        });
    }
    Ok(matching)
}
