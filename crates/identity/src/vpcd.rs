//! Serves a virtual card to `vpcd`, the virtual smart card reader driver of vsmartcard, so that a
//! card emulated in this process shows up in the real PC/SC daemon (`pcscd`) as an inserted card.
//!
//! The wire protocol (vsmartcard's "vpcd/vpicc" protocol): the reader driver, loaded by pcscd,
//! listens on TCP (port [`DEFAULT_PORT`] for the first slot, the next port for the second); the
//! virtual card is the TCP client. Every message in both directions is a 2-byte big-endian length
//! followed by that many bytes. From the reader:
//!
//! - a 1-byte message is a control command: [`CTRL_OFF`] (power off), [`CTRL_ON`] (power on),
//!   [`CTRL_RESET`] (reset) get no answer; [`CTRL_ATR`] is answered with the card's ATR;
//! - any longer message is a command APDU, answered with the response APDU (data and status word).
//!
//! The reader polls presence by asking for the ATR, and treats a closed connection (or an empty
//! answer) as a card removal. [`VpcdServer::stop`] therefore behaves like pulling the card out.
//!
//! `vpcd` listens on every interface and has no authentication: run it (and so pcscd) inside a
//! private network namespace with only loopback up; `scripts/pcscd-vpcd.sh` does that.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The TCP port vpcd's first slot listens on (`/etc/reader.conf.d/vpcd`: `0x8C7B`).
pub const DEFAULT_PORT: u16 = 35963;

/// Control command: power the card off (no answer).
pub const CTRL_OFF: u8 = 0x00;
/// Control command: power the card on (no answer).
pub const CTRL_ON: u8 = 0x01;
/// Control command: warm reset (no answer).
pub const CTRL_RESET: u8 = 0x02;
/// Control command: the reader asks for the ATR (answered with the ATR).
pub const CTRL_ATR: u8 = 0x04;

/// Status word sent when the card handler has no answer (the card itself failed): `6F00`.
pub const SW_NO_PRECISE_DIAGNOSIS: [u8; 2] = [0x6F, 0x00];

/// Historical bytes of [`default_atr`]: the PC/SC Part 3 layout for a contactless ISO 14443-4
/// Type B card (ATQB application data, protocol info, MBLI), which is what a contactless reader
/// reports for a chip ID card or passport.
const DEFAULT_HISTORICAL_BYTES: [u8; 8] = [0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x81, 0x71];

/// Builds an ISO 7816-3 ATR announcing T=1 with the given historical bytes (at most 15):
/// `3B 8K 80 01 <historical bytes> TCK`, TCK being the XOR of every byte after TS.
pub fn atr_t1(historical: &[u8]) -> Vec<u8> {
    let k = historical.len().min(15);
    let mut atr = vec![0x3B, 0x80 | k as u8, 0x80, 0x01];
    atr.extend(historical.iter().take(k));
    let tck = atr.iter().skip(1).fold(0u8, |acc, b| acc ^ b);
    atr.push(tck);
    atr
}

/// A valid T=1 ATR in the form a PC/SC contactless reader reports for an ISO 14443-4 eMRTD chip.
pub fn default_atr() -> Vec<u8> {
    atr_t1(&DEFAULT_HISTORICAL_BYTES)
}

/// A power event the reader sends to the card.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PowerEvent {
    /// The card lost power: volatile state (selected file, secure messaging session) is gone.
    Off,
    /// The card was powered.
    On,
    /// Warm reset: like `Off` then `On`.
    Reset,
}

/// What vpcd talks to: a card that answers command APDUs.
///
/// Any `FnMut(&[u8]) -> Vec<u8> + Send` closure is one (it ignores power events). A card that
/// keeps a session (secure messaging, selected application) should implement [`Self::power`] to
/// drop it, as a real chip does when it leaves the field.
pub trait VirtualIcc: Send {
    /// Answers one command APDU with a response APDU (data followed by SW1 SW2). An empty answer
    /// makes vpcd report the card as removed, so [`serve`] replaces it with `6F00`.
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8>;

    /// Called on power off, power on and reset.
    fn power(&mut self, _event: PowerEvent) {}
}

impl<F> VirtualIcc for F
where
    F: FnMut(&[u8]) -> Vec<u8> + Send,
{
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        self(apdu)
    }
}

/// Serves an [`emrtd::card::Card`](crate::emrtd::card::Card) (such as the virtual eMRTD chip) to
/// vpcd: transport errors become status word `6F00`, and power events call the optional reset
/// hook so that the chip drops its session as a real one leaving the field would.
pub struct CardIcc<C> {
    card: C,
    reset: Option<fn(&mut C)>,
}

impl<C: crate::emrtd::card::Card + Send> CardIcc<C> {
    /// Wraps `card`; power events are ignored.
    pub fn new(card: C) -> Self {
        Self { card, reset: None }
    }

    /// Calls `reset` on the card on every power off, power on and reset (e.g.
    /// `VirtualCard::reset`).
    pub fn with_reset(mut self, reset: fn(&mut C)) -> Self {
        self.reset = Some(reset);
        self
    }

    /// The wrapped card.
    pub fn into_inner(self) -> C {
        self.card
    }
}

impl<C: crate::emrtd::card::Card + Send> VirtualIcc for CardIcc<C> {
    fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
        self.card
            .transmit(apdu)
            .unwrap_or_else(|_| SW_NO_PRECISE_DIAGNOSIS.to_vec())
    }

    fn power(&mut self, _event: PowerEvent) {
        if let Some(reset) = self.reset {
            reset(&mut self.card);
        }
    }
}

/// How [`serve_with`] reaches vpcd.
#[derive(Clone, Debug)]
pub struct VpcdConfig {
    /// vpcd's address, usually `127.0.0.1:35963` inside the test namespace.
    pub addr: SocketAddr,
    /// The ATR answered to [`CTRL_ATR`].
    pub atr: Vec<u8>,
    /// Pause between connection attempts while vpcd is not listening or after it dropped us.
    pub reconnect_delay: Duration,
    /// How often a blocked read wakes up to check for [`VpcdServer::stop`].
    pub poll_interval: Duration,
    /// The least time between one card leaving this vpcd slot and the next card entering it.
    /// pcscd polls vpcd for presence every 400 ms; a card swapped in faster than that can
    /// replace the old one without pcscd ever seeing the slot empty, and pcscd then leaves the
    /// slot empty/mute for the new card. A real card swap takes longer than a second too.
    pub removal_gap: Duration,
}

impl VpcdConfig {
    /// The defaults for a vpcd slot at `addr`: [`default_atr`], 50 ms reconnect delay.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            atr: default_atr(),
            reconnect_delay: Duration::from_millis(50),
            poll_interval: Duration::from_millis(100),
            removal_gap: Duration::from_millis(1000),
        }
    }
}

/// Counters shared between the serving thread and its handle.
#[derive(Debug, Default)]
struct Shared {
    stop: AtomicBool,
    connected: AtomicBool,
    connections: AtomicU64,
    apdus: AtomicU64,
}

/// A card being served to vpcd on a background thread. Dropping it stops serving (the reader
/// then sees the card removed).
#[derive(Debug)]
pub struct VpcdServer {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

impl VpcdServer {
    /// Whether a vpcd connection is currently open (the card is "in the reader").
    pub fn is_connected(&self) -> bool {
        self.shared.connected.load(Ordering::SeqCst)
    }

    /// How many times the card connected to vpcd so far.
    pub fn connections(&self) -> u64 {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// How many command APDUs the card answered so far.
    pub fn apdus_served(&self) -> u64 {
        self.shared.apdus.load(Ordering::SeqCst)
    }

    /// Stops serving and waits for the thread: the connection closes and vpcd reports the card
    /// as removed.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            // A panic in the card handler has already been reported on stderr by the thread.
            let _ = thread.join();
        }
    }
}

impl Drop for VpcdServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Serves `card` to the vpcd slot at `addr` with the default ATR; see [`serve_with`].
pub fn serve<C, A>(card: C, addr: A) -> io::Result<VpcdServer>
where
    C: VirtualIcc + 'static,
    A: ToSocketAddrs,
{
    let addr = addr
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "vpcd address resolves to nothing"))?;
    Ok(serve_with(card, VpcdConfig::new(addr)))
}

/// Serves `card` to vpcd on a background thread: connects (retrying until vpcd listens), answers
/// the reader's requests, and reconnects whenever vpcd drops the connection, until the returned
/// handle is stopped or dropped.
pub fn serve_with<C>(mut card: C, config: VpcdConfig) -> VpcdServer
where
    C: VirtualIcc + 'static,
{
    let shared = Arc::new(Shared::default());
    let thread_shared = Arc::clone(&shared);
    let thread = std::thread::Builder::new()
        .name("vpcd-card".into())
        .spawn(move || serve_loop(&mut card, &config, &thread_shared));
    match thread {
        Ok(thread) => VpcdServer {
            shared,
            thread: Some(thread),
        },
        // Spawning fails only when the process is out of threads; behave as a card that never
        // reaches the reader rather than panicking.
        Err(_) => VpcdServer { shared, thread: None },
    }
}

/// When a card last left each vpcd address served from this process (see
/// [`VpcdConfig::removal_gap`]).
static LAST_REMOVAL: Mutex<Vec<(SocketAddr, Instant)>> = Mutex::new(Vec::new());

fn record_removal(addr: SocketAddr) {
    let mut last = LAST_REMOVAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    last.retain(|(a, _)| *a != addr);
    last.push((addr, Instant::now()));
}

/// Sleeps until `removal_gap` has passed since the last card left `addr`; false if stopped.
fn wait_removal_gap(config: &VpcdConfig, shared: &Shared) -> bool {
    let since = LAST_REMOVAL
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .iter()
        .find(|(a, _)| *a == config.addr)
        .map(|(_, t)| *t);
    let Some(since) = since else { return true };
    while since.elapsed() < config.removal_gap {
        if shared.stop.load(Ordering::SeqCst) {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20).min(config.removal_gap));
    }
    true
}

fn serve_loop<C: VirtualIcc>(card: &mut C, config: &VpcdConfig, shared: &Shared) {
    while !shared.stop.load(Ordering::SeqCst) {
        if !wait_removal_gap(config, shared) {
            break;
        }
        if let Ok(mut stream) = TcpStream::connect_timeout(&config.addr, Duration::from_secs(1)) {
            let _ = stream.set_nodelay(true);
            if stream.set_read_timeout(Some(config.poll_interval)).is_ok() {
                shared.connections.fetch_add(1, Ordering::SeqCst);
                shared.connected.store(true, Ordering::SeqCst);
                // Whatever ended the session (vpcd gone, protocol error, stop), the card is out.
                let _ = run_session(&mut stream, card, &config.atr, shared);
                shared.connected.store(false, Ordering::SeqCst);
                let _ = stream.shutdown(std::net::Shutdown::Both);
                record_removal(config.addr);
                card.power(PowerEvent::Off);
            }
        }
        if !shared.stop.load(Ordering::SeqCst) {
            std::thread::sleep(config.reconnect_delay);
        }
    }
}

/// Answers vpcd on one connection until it closes, fails, or `shared.stop` is set.
fn run_session<C: VirtualIcc>(
    stream: &mut TcpStream,
    card: &mut C,
    atr: &[u8],
    shared: &Shared,
) -> io::Result<()> {
    loop {
        let mut header = [0u8; 2];
        if !read_full(stream, &mut header, &shared.stop)? {
            return Ok(());
        }
        let len = usize::from(u16::from_be_bytes(header));
        let mut message = vec![0u8; len];
        if !read_full(stream, &mut message, &shared.stop)? {
            return Ok(());
        }
        let answer = match message.as_slice() {
            [] => continue,
            [CTRL_OFF] => {
                card.power(PowerEvent::Off);
                None
            }
            [CTRL_ON] => {
                card.power(PowerEvent::On);
                None
            }
            [CTRL_RESET] => {
                card.power(PowerEvent::Reset);
                None
            }
            [CTRL_ATR] => Some(atr.to_vec()),
            [other] => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("unknown vpcd control command {other:#04x}"),
                ))
            }
            apdu => {
                shared.apdus.fetch_add(1, Ordering::SeqCst);
                let mut response = card.transmit(apdu);
                if response.is_empty() {
                    response = SW_NO_PRECISE_DIAGNOSIS.to_vec();
                }
                Some(response)
            }
        };
        if let Some(answer) = answer {
            write_message(stream, &answer)?;
        }
    }
}

/// Writes one length-prefixed message.
fn write_message<W: Write>(stream: &mut W, payload: &[u8]) -> io::Result<()> {
    let len = u16::try_from(payload.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            "vpcd message longer than 65535 bytes",
        )
    })?;
    let mut frame = Vec::with_capacity(payload.len() + 2);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(payload);
    stream.write_all(&frame)?;
    stream.flush()
}

/// Fills `buf`, tolerating read timeouts (used to notice `stop`) without losing bytes already
/// read. Returns `Ok(false)` on a clean end of stream before any byte, or when stopped.
///
/// vpcd (as packaged in Debian 12) writes a message's length and its body with two `send`s on a
/// socket with Nagle's algorithm on: the body waits until the length is acknowledged, and
/// Linux's delayed ACK makes that ~40 ms per APDU. Asking for an immediate ACK before every read
/// (`TCP_QUICKACK`, which the kernel clears again on its own) brings an APDU down to tens of µs.
fn read_full(stream: &mut TcpStream, buf: &mut [u8], stop: &AtomicBool) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        if stop.load(Ordering::SeqCst) {
            return Ok(false);
        }
        quick_ack(stream);
        let rest = buf.get_mut(filled..).unwrap_or_default();
        match stream.read(rest) {
            Ok(0) if filled == 0 => return Ok(false),
            Ok(0) => return Err(io::ErrorKind::UnexpectedEof.into()),
            Ok(n) => filled += n,
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

#[cfg(any(target_os = "linux", target_os = "android"))]
fn quick_ack(stream: &TcpStream) {
    // Only a latency optimisation: a failure leaves the connection correct, merely slower.
    let _ = socket2::SockRef::from(stream).set_tcp_quickack(true);
}

#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn quick_ack(_stream: &TcpStream) {}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpListener;
    use std::time::Instant;

    fn send(stream: &mut TcpStream, payload: &[u8]) {
        write_message(stream, payload).unwrap();
    }

    fn recv(stream: &mut TcpStream) -> Vec<u8> {
        let mut header = [0u8; 2];
        stream.read_exact(&mut header).unwrap();
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(header))];
        stream.read_exact(&mut body).unwrap();
        body
    }

    #[test]
    fn atr_checksum_and_shape() {
        let atr = default_atr();
        assert_eq!(&atr[..4], &[0x3B, 0x88, 0x80, 0x01]);
        assert_eq!(atr.len(), 4 + 8 + 1);
        assert_eq!(
            atr[1..].iter().fold(0u8, |a, b| a ^ b),
            0,
            "TCK makes the XOR of T0..TCK zero"
        );
    }

    /// Plays vpcd's side of the protocol against `serve`, including a dropped connection.
    #[test]
    fn speaks_the_vpcd_protocol_and_reconnects() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let events = Arc::new(std::sync::Mutex::new(Vec::new()));

        struct Echo(Arc<std::sync::Mutex<Vec<PowerEvent>>>);
        impl VirtualIcc for Echo {
            fn transmit(&mut self, apdu: &[u8]) -> Vec<u8> {
                if apdu.first() == Some(&0xFF) {
                    return Vec::new();
                }
                let mut r = apdu.to_vec();
                r.extend_from_slice(&[0x90, 0x00]);
                r
            }
            fn power(&mut self, event: PowerEvent) {
                self.0.lock().unwrap().push(event);
            }
        }
        let mut config = VpcdConfig::new(addr);
        config.removal_gap = Duration::from_millis(10);
        let server = serve_with(Echo(Arc::clone(&events)), config);

        let (mut vpcd, _) = listener.accept().unwrap();
        send(&mut vpcd, &[CTRL_ATR]);
        assert_eq!(recv(&mut vpcd), default_atr());
        send(&mut vpcd, &[CTRL_ON]);
        send(&mut vpcd, &[0x00, 0xA4, 0x04, 0x0C]);
        assert_eq!(recv(&mut vpcd), vec![0x00, 0xA4, 0x04, 0x0C, 0x90, 0x00]);
        // An extended-length sized APDU in one frame.
        let big: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        send(&mut vpcd, &big);
        assert_eq!(recv(&mut vpcd).len(), 3002);
        // An empty card answer is never sent as such (vpcd would eject the card).
        send(&mut vpcd, &[0xFF, 0x00, 0x00, 0x00]);
        assert_eq!(recv(&mut vpcd), SW_NO_PRECISE_DIAGNOSIS.to_vec());
        send(&mut vpcd, &[CTRL_RESET]);
        assert_eq!(server.apdus_served(), 3);
        drop(vpcd);

        // vpcd went away; the card comes back on its own.
        let (mut vpcd, _) = listener.accept().unwrap();
        send(&mut vpcd, &[CTRL_ATR]);
        assert_eq!(recv(&mut vpcd), default_atr());
        let deadline = Instant::now() + Duration::from_secs(5);
        while server.connections() < 2 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(server.connections(), 2);
        assert!(server.is_connected());

        // Stopping closes the connection: vpcd reads end of stream (card removed).
        server.stop();
        let mut byte = [0u8; 1];
        assert_eq!(vpcd.read(&mut byte).unwrap(), 0);
        let events = events.lock().unwrap().clone();
        assert_eq!(
            events,
            vec![
                PowerEvent::On,
                PowerEvent::Reset,
                PowerEvent::Off,
                PowerEvent::Off
            ]
        );
    }
}
