//! The client a request came for through its proxies: `X-Forwarded-For` or RFC 7239 `Forwarded`, as a
//! trusted proxy passes it on. The header holds what the client wrote itself at the left, so it is read as bytes
//! and cut from the right, and the walk stops at the first hop that is not a trusted proxy: nothing the client
//! wrote is ever reached while a proxy's own entry stands to its right. Fuzzed on its own (`fuzz/`, `forwarded`);
//! tested through the server's `TrustedProxies::client` (its config.rs), where the trusted set comes from.

use std::net::IpAddr;

/// Which header the trusted proxies name the client in (`[limits] proxy_header`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Header {
    /// `X-Forwarded-For: client, proxy1, proxy2`.
    #[default]
    XForwardedFor,
    /// RFC 7239 `Forwarded: for=client, for="[2001:db8::1]:4711";proto=https`.
    Forwarded,
}

impl Header {
    /// The header's name, as HTTP/1 and `http::HeaderMap` spell it (lower case).
    pub fn name(self) -> &'static str {
        match self {
            Self::XForwardedFor => "x-forwarded-for",
            Self::Forwarded => "forwarded",
        }
    }
}

impl std::str::FromStr for Header {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "x-forwarded-for" => Ok(Self::XForwardedFor),
            "forwarded" => Ok(Self::Forwarded),
            other => Err(format!(
                "proxy_header: {other:?} is neither \"x-forwarded-for\" nor \"forwarded\""
            )),
        }
    }
}

/// The client of a request whose connection came from `peer`, given the values of `header` in the order they
/// were received. When `trusted(peer)`, the hops are followed right to left (each proxy appends the address
/// that connected to it) past the trusted ones to the first address that is not one: that is the client. A hop
/// that is not an address (`unknown`, an obfuscated node, junk) stops the walk at the last trusted one. A peer
/// that is not trusted is its own client, whatever it sent.
pub fn client<'a>(
    peer: IpAddr,
    values: impl DoubleEndedIterator<Item = &'a [u8]>,
    header: Header,
    trusted: impl Fn(IpAddr) -> bool,
) -> IpAddr {
    let mut client = peer.to_canonical();
    if !trusted(client) {
        return client;
    }
    for value in values.rev() {
        let pieces = match header {
            Header::XForwardedFor => value.rsplit(|b| *b == b',').collect(),
            Header::Forwarded => rsplit_outside_quotes(value, b','),
        };
        // Empty list elements do not count (RFC 9110 §5.6.1).
        for piece in pieces
            .into_iter()
            .map(<[u8]>::trim_ascii)
            .filter(|p| !p.is_empty())
        {
            let address = match header {
                Header::XForwardedFor => std::str::from_utf8(piece).ok().and_then(hop_address),
                Header::Forwarded => forwarded_for(piece).and_then(forwarded_node),
            };
            let Some(ip) = address else {
                return client;
            };
            client = ip.to_canonical();
            if !trusted(client) {
                return client;
            }
        }
    }
    client
}

/// The pieces of `s` between the `sep`s that stand outside double quotes (a quoted string may hold a comma or a
/// semicolon, and a backslash-escaped quote), from the right. Read from the right, what a client wrote at the
/// left — an unbalanced quote, say — cannot change how the pieces its proxies appended after it are cut; and an
/// escaped quote inside a proxy's quoted value (a `host="…"` holding a client's text) does not end the string.
fn rsplit_outside_quotes(s: &[u8], sep: u8) -> Vec<&[u8]> {
    let (mut pieces, mut end, mut quoted) = (Vec::new(), s.len(), false);
    for (i, &b) in s.iter().enumerate().rev() {
        if b == b'"' {
            // Inside a quoted string (read from the right), a quote after an odd run of backslashes is escaped.
            let escaped = quoted && s[..i].iter().rev().take_while(|c| **c == b'\\').count() % 2 == 1;
            if !escaped {
                quoted = !quoted;
            }
        } else if b == sep && !quoted {
            pieces.push(&s[i + 1..end]);
            end = i;
        }
    }
    pieces.push(&s[..end]);
    pieces
}

/// The node an RFC 7239 forwarded-element names in its `for` parameter, unquoted (none: no `for`, or more than
/// one).
fn forwarded_for(element: &[u8]) -> Option<&[u8]> {
    let mut fors = rsplit_outside_quotes(element, b';')
        .into_iter()
        .filter_map(|pair| {
            let eq = pair.iter().position(|b| *b == b'=')?;
            let (name, value) = (pair[..eq].trim_ascii(), pair[eq + 1..].trim_ascii());
            name.eq_ignore_ascii_case(b"for").then(|| {
                value
                    .strip_prefix(b"\"".as_slice())
                    .and_then(|v| v.strip_suffix(b"\"".as_slice()))
                    .unwrap_or(value)
            })
        });
    match (fors.next(), fors.next()) {
        (Some(node), None) => Some(node),
        _ => None,
    }
}

/// The address of an RFC 7239 node (§6): an IPv4 address or a bracketed IPv6 one, with or without a port, which
/// may be obfuscated (`_p1`). `unknown`, an obfuscated name and an IPv6 address without brackets are none.
fn forwarded_node(node: &[u8]) -> Option<IpAddr> {
    let node = std::str::from_utf8(node).ok()?;
    let (ip, rest) = match node.strip_prefix('[') {
        Some(bracketed) => {
            let (v6, rest) = bracketed.split_once(']')?;
            (IpAddr::V6(v6.parse().ok()?), rest)
        }
        None => {
            let (v4, rest) = node.find(':').map_or((node, ""), |i| node.split_at(i));
            (IpAddr::V4(v4.parse().ok()?), rest)
        }
    };
    let port_ok = match rest.strip_prefix(':') {
        None => rest.is_empty(),
        Some(port) => match port.strip_prefix('_') {
            Some(obfuscated) => {
                !obfuscated.is_empty()
                    && obfuscated
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
            }
            None => (1..=5).contains(&port.len()) && port.bytes().all(|b| b.is_ascii_digit()),
        },
    };
    port_ok.then_some(ip)
}

/// One `X-Forwarded-For` hop: an address, with or without a port (`[v6]:port`, `v4:port`).
fn hop_address(hop: &str) -> Option<IpAddr> {
    hop.parse()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            hop.strip_prefix('[')
                .and_then(|h| h.strip_suffix(']'))
                .and_then(|h| h.parse().ok())
        })
}
