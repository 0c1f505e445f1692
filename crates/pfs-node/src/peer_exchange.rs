//! 34/WAKU2-PEER-EXCHANGE `/vac/waku/peer-exchange/2.0.0-alpha1`, both sides, and the
//! bounded book of verified ENRs it answers from.
//!
//! nwaku answers from the peers discv5 found. We run no discv5, so the book holds (1) our
//! own record, always answered first (non-standard but harmless: a js-waku or nwaku
//! client just learns one more peer, the one it asked), and (2) the records our peers
//! gave us: every node asks each newly connected peer that lists this protocol in
//! identify, once per connection, and keeps the records whose signature verifies.
//!
//! Limits: a query is read up to [`MAX_PX_REQUEST`] bytes, an answer up to
//! [`MAX_PX_RESPONSE`] bytes; an answer holds at most [`MAX_PX_PEERS`] records (more are
//! ignored), each at most 300 bytes (EIP-778); the book keeps [`MAX_BOOK`] records (the
//! oldest entry goes first). A malformed record is dropped and counted, never used.

use std::collections::VecDeque;
use std::net::Ipv4Addr;

use libp2p::multiaddr::Protocol;
use libp2p::{Multiaddr, PeerId, Stream, StreamProtocol};
use pfs_wire::waku::{PeerExchangeQuery, PeerExchangeResponse, PeerExchangeRpc, PeerInfo};

use crate::codec::{self, CodecError};
use crate::enr::{Enr, EnrError, EnrFields, MAX_ENR_SIZE, Waku2};

/// `/vac/waku/peer-exchange/2.0.0-alpha1`.
pub const PEER_EXCHANGE: StreamProtocol =
    StreamProtocol::new("/vac/waku/peer-exchange/2.0.0-alpha1");
/// Most records in one answer (js-waku asks for 60, the number of its spec).
pub const MAX_PX_PEERS: usize = 60;
/// Largest query read.
pub const MAX_PX_REQUEST: usize = 1024;
/// Largest answer read: [`MAX_PX_PEERS`] records of 300 bytes with their framing.
pub const MAX_PX_RESPONSE: usize = MAX_PX_PEERS * (MAX_ENR_SIZE + 8) + 64;
/// Most records kept from peers.
pub const MAX_BOOK: usize = 256;

/// Why a peer-exchange answer was refused as a whole.
///
/// # Examples
///
/// An RPC without a `response` is refused as a whole:
///
/// ```
/// use pfs_node::peer_exchange::{PeerExchangeError, check_answer, query};
///
/// assert!(matches!(check_answer(query()), Err(PeerExchangeError::NoResponse)));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PeerExchangeError {
    /// Framing or protobuf.
    #[error("{0}")]
    Codec(#[from] CodecError),
    /// The answer holds no `response`.
    #[error("answer without a response")]
    NoResponse,
}

/// What came back from one query: the records that verified, and how many did not.
///
/// # Examples
///
/// ```
/// use pfs_node::enr::{Enr, EnrFields};
/// use pfs_node::peer_exchange::{PeerBook, check_answer};
/// use pfs_node::Keypair;
///
/// let mut book = PeerBook::default();
/// let me = Keypair::generate_secp256k1();
/// book.set_own(Some(Enr::sign_with_keypair(&me, 1, &EnrFields::default())?));
/// let asker = Keypair::generate_ed25519().public().to_peer_id();
/// let answer = check_answer(book.answer(asker, None))?;
/// assert_eq!(answer.enrs.len(), 1);
/// assert_eq!(answer.enrs[0].peer_id()?, me.public().to_peer_id());
/// assert_eq!((answer.dropped, answer.first_error), (0, None));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct Answer {
    /// Verified records, in the order received (at most [`MAX_PX_PEERS`]).
    pub enrs: Vec<Enr>,
    /// Records dropped: malformed, badly signed, or beyond [`MAX_PX_PEERS`].
    pub dropped: usize,
    /// The first reason a record was dropped, for the log.
    pub first_error: Option<EnrError>,
}

/// Checks the records of an answer.
///
/// # Examples
///
/// Good records are kept in order; a tampered one, an empty entry and one that is not a
/// record are dropped and counted:
///
/// ```
/// use pfs_node::Keypair;
/// use pfs_node::enr::{Enr, EnrError, EnrFields, Waku2};
/// use pfs_node::peer_exchange::check_answer;
/// use pfs_wire::waku::{PeerExchangeResponse, PeerExchangeRpc, PeerInfo};
///
/// let fields = EnrFields { waku2: Some(Waku2(Waku2::STORE)), ..EnrFields::default() };
/// let good = Enr::sign_with_keypair(&Keypair::generate_secp256k1(), 1, &fields)?;
/// let mut tampered = good.as_bytes().to_vec();
/// let last = tampered.len() - 1;
/// tampered[last] ^= 1; // the waku2 value, the last key: store becomes store + relay
/// let infos = [Some(good.as_bytes().to_vec()), Some(tampered), None, Some(vec![0xc0])];
/// let rpc = PeerExchangeRpc {
///     query: None,
///     response: Some(PeerExchangeResponse {
///         peer_infos: infos.into_iter().map(|enr| PeerInfo { enr }).collect(),
///     }),
/// };
/// let answer = check_answer(rpc)?;
/// assert_eq!(answer.enrs, vec![good]);
/// assert_eq!(answer.dropped, 3);
/// assert_eq!(answer.first_error, Some(EnrError::Signature));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check_answer(rpc: PeerExchangeRpc) -> Result<Answer, PeerExchangeError> {
    let resp = rpc.response.ok_or(PeerExchangeError::NoResponse)?;
    let mut out = Answer::default();
    for (i, info) in resp.peer_infos.into_iter().enumerate() {
        if i >= MAX_PX_PEERS {
            out.dropped += 1;
            continue;
        }
        match info.enr.as_deref().map(Enr::decode) {
            Some(Ok(e)) => out.enrs.push(e),
            Some(Err(e)) => {
                out.dropped += 1;
                out.first_error.get_or_insert(e);
            }
            None => out.dropped += 1,
        }
    }
    Ok(out)
}

/// The query we send: as many records as an answer may hold.
///
/// # Examples
///
/// ```
/// use pfs_node::peer_exchange::{MAX_PX_PEERS, query};
///
/// let rpc = query();
/// assert_eq!(rpc.query.and_then(|q| q.num_peers), Some(MAX_PX_PEERS as u64));
/// assert!(rpc.response.is_none());
/// ```
pub fn query() -> PeerExchangeRpc {
    PeerExchangeRpc {
        query: Some(PeerExchangeQuery {
            num_peers: Some(MAX_PX_PEERS as u64),
        }),
        response: None,
    }
}

/// Our record, and the verified records learned from peers (bounded, newest last).
///
/// # Examples
///
/// A node's book: its own record, then what its peers told it.
///
/// ```
/// use pfs_node::Keypair;
/// use pfs_node::enr::{Enr, EnrFields, Waku2};
/// use pfs_node::peer_exchange::PeerBook;
///
/// let me = Keypair::generate_secp256k1();
/// let store = Keypair::generate_secp256k1();
/// let fields = EnrFields { waku2: Some(Waku2(Waku2::STORE)), ..EnrFields::default() };
/// let mut book = PeerBook::default();
/// book.set_own(Some(Enr::sign_with_keypair(&me, 1, &EnrFields::default())?));
/// let learned = vec![Enr::sign_with_keypair(&store, 1, &fields)?];
/// assert_eq!(book.learn(me.public().to_peer_id(), learned), 1);
/// assert_eq!(book.stores()[0].0, store.public().to_peer_id());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct PeerBook {
    own: Option<Enr>,
    learned: VecDeque<(PeerId, Enr)>,
}

impl PeerBook {
    /// Our own record (answered first).
    ///
    /// # Examples
    ///
    /// ```
    /// use pfs_node::Keypair;
    /// use pfs_node::enr::{Enr, EnrFields};
    /// use pfs_node::peer_exchange::PeerBook;
    ///
    /// let mut book = PeerBook::default();
    /// assert!(book.own().is_none());
    /// let enr = Enr::sign_with_keypair(&Keypair::generate_secp256k1(), 1, &EnrFields::default())?;
    /// book.set_own(Some(enr.clone()));
    /// assert_eq!(book.own(), Some(&enr));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn own(&self) -> Option<&Enr> {
        self.own.as_ref()
    }

    /// Replaces our own record.
    ///
    /// # Examples
    ///
    /// A new sequence number replaces the record answered first:
    ///
    /// ```
    /// use pfs_node::Keypair;
    /// use pfs_node::enr::{Enr, EnrFields};
    /// use pfs_node::peer_exchange::PeerBook;
    ///
    /// let kp = Keypair::generate_secp256k1();
    /// let mut book = PeerBook::default();
    /// book.set_own(Some(Enr::sign_with_keypair(&kp, 1, &EnrFields::default())?));
    /// book.set_own(Some(Enr::sign_with_keypair(&kp, 2, &EnrFields::default())?));
    /// assert_eq!(book.own().map(Enr::seq), Some(2));
    /// book.set_own(None);
    /// assert!(book.own().is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn set_own(&mut self, enr: Option<Enr>) {
        self.own = enr;
    }

    /// Learns records (already verified); `local` is our own peer id (never stored).
    /// A record replaces an older one of the same peer unless its seq is lower.
    /// Returns how many were new or newer.
    ///
    /// # Examples
    ///
    /// Our own record is never learned; an older record of a known peer is ignored, a newer one
    /// replaces it:
    ///
    /// ```
    /// use pfs_node::Keypair;
    /// use pfs_node::enr::{Enr, EnrFields};
    /// use pfs_node::peer_exchange::PeerBook;
    ///
    /// let me = Keypair::generate_secp256k1();
    /// let peer = Keypair::generate_secp256k1();
    /// let local = me.public().to_peer_id();
    /// let rec = |kp: &Keypair, seq| Enr::sign_with_keypair(kp, seq, &EnrFields::default());
    /// let mut book = PeerBook::default();
    /// assert_eq!(book.learn(local, vec![rec(&peer, 5)?, rec(&me, 9)?]), 1);
    /// assert_eq!(book.learn(local, vec![rec(&peer, 4)?]), 0);
    /// assert_eq!(book.learn(local, vec![rec(&peer, 6)?]), 1);
    /// let learned: Vec<u64> = book.learned().map(|(_, e)| e.seq()).collect();
    /// assert_eq!(learned, [6]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn learn(&mut self, local: PeerId, enrs: Vec<Enr>) -> usize {
        let mut n = 0;
        for enr in enrs {
            let Ok(peer) = enr.peer_id() else { continue };
            if peer == local {
                continue;
            }
            if let Some(i) = self.learned.iter().position(|(p, _)| *p == peer) {
                if self.learned[i].1.seq() >= enr.seq() {
                    continue;
                }
                self.learned.remove(i);
            }
            self.learned.push_back((peer, enr));
            n += 1;
            while self.learned.len() > MAX_BOOK {
                self.learned.pop_front();
            }
        }
        n
    }

    /// The learned records (oldest first).
    ///
    /// # Examples
    ///
    /// Oldest first, each with the peer id its record names:
    ///
    /// ```
    /// use pfs_node::Keypair;
    /// use pfs_node::enr::{Enr, EnrFields};
    /// use pfs_node::peer_exchange::PeerBook;
    ///
    /// let (a, b) = (Keypair::generate_secp256k1(), Keypair::generate_secp256k1());
    /// let mut book = PeerBook::default();
    /// let local = Keypair::generate_secp256k1().public().to_peer_id();
    /// book.learn(local, vec![Enr::sign_with_keypair(&a, 1, &EnrFields::default())?]);
    /// book.learn(local, vec![Enr::sign_with_keypair(&b, 1, &EnrFields::default())?]);
    /// let peers: Vec<_> = book.learned().map(|(p, _)| *p).collect();
    /// assert_eq!(peers, [a.public().to_peer_id(), b.public().to_peer_id()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn learned(&self) -> impl Iterator<Item = &(PeerId, Enr)> {
        self.learned.iter()
    }

    /// Learned peers whose record has the store bit, newest first.
    ///
    /// # Examples
    ///
    /// ```
    /// use pfs_node::Keypair;
    /// use pfs_node::enr::{Enr, EnrFields, Waku2};
    /// use pfs_node::peer_exchange::PeerBook;
    ///
    /// let with = |bits| EnrFields { waku2: Some(Waku2(bits)), ..EnrFields::default() };
    /// let (relay, s1, s2) = (
    ///     Keypair::generate_secp256k1(),
    ///     Keypair::generate_secp256k1(),
    ///     Keypair::generate_secp256k1(),
    /// );
    /// let mut book = PeerBook::default();
    /// let local = Keypair::generate_secp256k1().public().to_peer_id();
    /// book.learn(local, vec![
    ///     Enr::sign_with_keypair(&s1, 1, &with(Waku2::STORE))?,
    ///     Enr::sign_with_keypair(&relay, 1, &with(Waku2::RELAY))?,
    ///     Enr::sign_with_keypair(&s2, 1, &with(Waku2::RELAY | Waku2::STORE))?,
    /// ]);
    /// let stores: Vec<_> = book.stores().into_iter().map(|(p, _)| p).collect();
    /// assert_eq!(stores, [s2.public().to_peer_id(), s1.public().to_peer_id()]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn stores(&self) -> Vec<(PeerId, Enr)> {
        self.learned
            .iter()
            .rev()
            .filter(|(_, e)| e.waku2().ok().flatten().is_some_and(Waku2::store))
            .cloned()
            .collect()
    }

    /// The answer to a query for `num_peers` (0 or absent: all, capped at
    /// [`MAX_PX_PEERS`]): our record first, then the newest learned ones, never the
    /// asking peer's own record.
    ///
    /// # Examples
    ///
    /// Our record first, then the newest learned, never the asker's own, at most `num_peers`:
    ///
    /// ```
    /// use pfs_node::Keypair;
    /// use pfs_node::enr::{Enr, EnrFields};
    /// use pfs_node::peer_exchange::{PeerBook, check_answer};
    ///
    /// let rec = |kp: &Keypair| Enr::sign_with_keypair(kp, 1, &EnrFields::default());
    /// let me = Keypair::generate_secp256k1();
    /// let keys: Vec<Keypair> = (0..3).map(|_| Keypair::generate_secp256k1()).collect();
    /// let mut book = PeerBook::default();
    /// book.set_own(Some(rec(&me)?));
    /// book.learn(me.public().to_peer_id(), keys.iter().map(rec).collect::<Result<_, _>>()?);
    /// let asker = keys[2].public().to_peer_id();
    /// let got = check_answer(book.answer(asker, None))?.enrs;
    /// let peers: Vec<_> = got.iter().map(Enr::peer_id).collect::<Result<_, _>>()?;
    /// let expected = [&me, &keys[1], &keys[0]].map(|k| k.public().to_peer_id());
    /// assert_eq!(peers, expected);
    /// assert_eq!(check_answer(book.answer(asker, Some(2)))?.enrs.len(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn answer(&self, asker: PeerId, num_peers: Option<u64>) -> PeerExchangeRpc {
        let n = match num_peers {
            Some(n) if n > 0 => usize::try_from(n).unwrap_or(MAX_PX_PEERS).min(MAX_PX_PEERS),
            _ => MAX_PX_PEERS,
        };
        let peer_infos = self
            .own
            .iter()
            .chain(
                self.learned
                    .iter()
                    .rev()
                    .filter(|(p, _)| *p != asker)
                    .map(|(_, e)| e),
            )
            .take(n)
            .map(|e| PeerInfo {
                enr: Some(e.as_bytes().to_vec()),
            })
            .collect();
        PeerExchangeRpc {
            query: None,
            response: Some(PeerExchangeResponse { peer_infos }),
        }
    }
}

/// Server: reads one query, answers from `book`, closes.
///
/// # Examples
///
/// Two libp2p hosts on 127.0.0.1: one serves its book, the other asks it.
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// use futures::StreamExt;
/// use libp2p::swarm::SwarmEvent;
/// use libp2p::{Swarm, SwarmBuilder, noise, tcp, yamux};
/// use pfs_node::Keypair;
/// use pfs_node::enr::{Enr, EnrFields};
/// use pfs_node::peer_exchange::{self, PEER_EXCHANGE, PeerBook};
///
/// type BoxError = Box<dyn std::error::Error>;
///
/// fn host(kp: Keypair) -> Result<Swarm<libp2p_stream::Behaviour>, BoxError> {
///     Ok(SwarmBuilder::with_existing_identity(kp)
///         .with_tokio()
///         .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)?
///         .with_behaviour(|_| libp2p_stream::Behaviour::new())?
///         .build())
/// }
///
/// # fn main() -> Result<(), BoxError> {
/// let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// rt.block_on(async {
///     let server_key = Keypair::generate_secp256k1();
///     let client_key = Keypair::generate_secp256k1();
///     let server_id = server_key.public().to_peer_id();
///     let mut book = PeerBook::default();
///     let own = Enr::sign_with_keypair(&server_key, 1, &EnrFields::default())?;
///     book.set_own(Some(own));
///     // The client's own record, learned earlier: never sent back to the client.
///     let client_record = Enr::sign_with_keypair(&client_key, 1, &EnrFields::default())?;
///     book.learn(server_id, vec![client_record]);
///     let book = Arc::new(Mutex::new(book));
///
///     let mut server = host(server_key)?;
///     let mut incoming = server.behaviour().new_control().accept(PEER_EXCHANGE)?;
///     server.listen_on("/ip4/127.0.0.1/tcp/0".parse()?)?;
///     let addr = loop {
///         if let SwarmEvent::NewListenAddr { address, .. } = server.select_next_some().await {
///             break address;
///         }
///     };
///     tokio::spawn(async move {
///         loop {
///             server.select_next_some().await;
///         }
///     });
///     tokio::spawn(async move {
///         while let Some((asker, stream)) = incoming.next().await {
///             let _ = peer_exchange::serve(&book, asker, stream).await;
///         }
///     });
///
///     let mut client = host(client_key)?;
///     let mut control = client.behaviour().new_control();
///     client.dial(addr)?;
///     loop {
///         let event = client.select_next_some().await;
///         if matches!(event, SwarmEvent::ConnectionEstablished { .. }) {
///             break;
///         }
///     }
///     tokio::spawn(async move {
///         loop {
///             client.select_next_some().await;
///         }
///     });
///     let stream = control.open_stream(server_id, PEER_EXCHANGE).await?;
///     let answer = peer_exchange::ask(stream).await?;
///     assert_eq!(answer.enrs.len(), 1); // the server's own record only, verified
///     assert_eq!(answer.enrs[0].peer_id()?, server_id);
///     Ok::<(), BoxError>(())
/// })
/// # }
/// ```
pub async fn serve(
    book: &std::sync::Mutex<PeerBook>,
    asker: PeerId,
    mut stream: Stream,
) -> Result<(), CodecError> {
    let rpc: PeerExchangeRpc = codec::read_message(&mut stream, MAX_PX_REQUEST).await?;
    let num = rpc.query.and_then(|q| q.num_peers);
    let answer = book
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .answer(asker, num);
    codec::write_message(&mut stream, &answer).await?;
    let _ = futures::AsyncWriteExt::close(&mut stream).await;
    Ok(())
}

/// Client: one query on an open stream.
///
/// # Examples
///
/// Asking a server on 127.0.0.1 (set up as in [`serve`]'s example):
///
/// ```
/// # use std::sync::{Arc, Mutex};
/// #
/// # use futures::StreamExt;
/// # use libp2p::swarm::SwarmEvent;
/// # use libp2p::{Swarm, SwarmBuilder, noise, tcp, yamux};
/// # use pfs_node::Keypair;
/// # use pfs_node::enr::{Enr, EnrFields};
/// # use pfs_node::peer_exchange::{self, PEER_EXCHANGE, PeerBook};
/// #
/// # type BoxError = Box<dyn std::error::Error>;
/// #
/// # fn host(kp: Keypair) -> Result<Swarm<libp2p_stream::Behaviour>, BoxError> {
/// #     Ok(SwarmBuilder::with_existing_identity(kp)
/// #         .with_tokio()
/// #         .with_tcp(tcp::Config::default(), noise::Config::new, yamux::Config::default)?
/// #         .with_behaviour(|_| libp2p_stream::Behaviour::new())?
/// #         .build())
/// # }
/// #
/// # fn main() -> Result<(), BoxError> {
/// # let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
/// # rt.block_on(async {
/// #     let server_key = Keypair::generate_secp256k1();
/// #     let client_key = Keypair::generate_secp256k1();
/// #     let server_id = server_key.public().to_peer_id();
/// #     let mut book = PeerBook::default();
/// #     let own = Enr::sign_with_keypair(&server_key, 1, &EnrFields::default())?;
/// #     book.set_own(Some(own));
/// #     // The client's own record, learned earlier: never sent back to the client.
/// #     let client_record = Enr::sign_with_keypair(&client_key, 1, &EnrFields::default())?;
/// #     book.learn(server_id, vec![client_record]);
/// #     let book = Arc::new(Mutex::new(book));
/// #
/// #     let mut server = host(server_key)?;
/// #     let mut incoming = server.behaviour().new_control().accept(PEER_EXCHANGE)?;
/// #     server.listen_on("/ip4/127.0.0.1/tcp/0".parse()?)?;
/// #     let addr = loop {
/// #         if let SwarmEvent::NewListenAddr { address, .. } = server.select_next_some().await {
/// #             break address;
/// #         }
/// #     };
/// #     tokio::spawn(async move {
/// #         loop {
/// #             server.select_next_some().await;
/// #         }
/// #     });
/// #     tokio::spawn(async move {
/// #         while let Some((asker, stream)) = incoming.next().await {
/// #             let _ = peer_exchange::serve(&book, asker, stream).await;
/// #         }
/// #     });
/// #
///     let mut client = host(client_key)?;
///     let mut control = client.behaviour().new_control();
///     client.dial(addr)?;
///     loop {
///         let event = client.select_next_some().await;
///         if matches!(event, SwarmEvent::ConnectionEstablished { .. }) {
///             break;
///         }
///     }
///     tokio::spawn(async move {
///         loop {
///             client.select_next_some().await;
///         }
///     });
///     let stream = control.open_stream(server_id, PEER_EXCHANGE).await?;
///     let answer = peer_exchange::ask(stream).await?;
///     assert_eq!(answer.enrs.len(), 1); // the server's own record only, verified
///     assert_eq!(answer.enrs[0].peer_id()?, server_id);
///     Ok::<(), BoxError>(())
/// })
/// # }
/// ```
pub async fn ask(stream: Stream) -> Result<Answer, PeerExchangeError> {
    let rpc: PeerExchangeRpc = crate::services::exchange(stream, &query(), MAX_PX_RESPONSE).await?;
    check_answer(rpc)
}

/// The fields of our own record from our listen addresses (each may end in `/p2p`):
/// `ip`/`tcp` from the first plain TCP address on a specified IPv4 address (one that is
/// not loopback preferred), WebSocket addresses in `multiaddrs` while the record stays
/// within 300 bytes (checked by the caller when signing).
///
/// # Examples
///
/// A routable TCP address wins over loopback and the unspecified address; `/ws` addresses go
/// to `multiaddrs`:
///
/// ```
/// use std::net::Ipv4Addr;
/// use pfs_node::Multiaddr;
/// use pfs_node::enr::Waku2;
/// use pfs_node::peer_exchange::own_fields;
///
/// let listen: Vec<Multiaddr> = ["/ip4/0.0.0.0/tcp/1", "/ip4/127.0.0.1/tcp/60000",
///     "/ip4/10.1.2.3/tcp/60000", "/ip4/10.1.2.3/tcp/60001/ws"]
///     .iter().map(|s| s.parse()).collect::<Result<_, _>>()?;
/// let f = own_fields(&listen, Waku2(Waku2::RELAY));
/// assert_eq!((f.ip, f.tcp, f.udp), (Some(Ipv4Addr::new(10, 1, 2, 3)), Some(60000), None));
/// assert_eq!(f.multiaddrs, vec!["/ip4/10.1.2.3/tcp/60001/ws".parse::<Multiaddr>()?]);
/// assert_eq!(f.waku2, Some(Waku2(Waku2::RELAY)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn own_fields(listen: &[Multiaddr], waku2: Waku2) -> EnrFields {
    let mut tcp: Vec<(Ipv4Addr, u16)> = Vec::new();
    let mut ws: Vec<Multiaddr> = Vec::new();
    for a in listen {
        let parts: Vec<Protocol> = a
            .iter()
            .filter(|p| !matches!(p, Protocol::P2p(_)))
            .collect();
        match parts.as_slice() {
            [Protocol::Ip4(ip), Protocol::Tcp(port)] if !ip.is_unspecified() => {
                tcp.push((*ip, *port));
            }
            [Protocol::Ip4(ip), Protocol::Tcp(_), Protocol::Ws(_)] if !ip.is_unspecified() => {
                ws.push(parts.iter().cloned().collect());
            }
            _ => {}
        }
    }
    let chosen = tcp
        .iter()
        .find(|(ip, _)| !ip.is_loopback())
        .or(tcp.first())
        .copied();
    EnrFields {
        ip: chosen.map(|(ip, _)| ip),
        tcp: chosen.map(|(_, p)| p),
        udp: None,
        waku2: Some(waku2),
        multiaddrs: ws,
    }
}

/// Signs our record; drops `multiaddrs` entries (last first) until it fits in 300 bytes.
///
/// # Examples
///
/// Forty `/ws` addresses do not fit in 300 bytes: the record keeps as many as fit.
///
/// ```
/// use pfs_node::enr::{MAX_ENR_SIZE, Waku2};
/// use pfs_node::peer_exchange::{own_fields, sign_own};
/// use pfs_node::{Keypair, Multiaddr};
///
/// let many: Vec<Multiaddr> = (0..40)
///     .map(|i| format!("/ip4/10.0.0.{i}/tcp/{}/ws", 2000 + i).parse())
///     .collect::<Result<_, _>>()?;
/// let fields = own_fields(&many, Waku2(Waku2::RELAY));
/// let enr = sign_own(&Keypair::generate_secp256k1(), 1, fields)?;
/// assert!(enr.as_bytes().len() <= MAX_ENR_SIZE);
/// let kept = enr.multiaddrs()?;
/// assert!(!kept.is_empty() && kept.len() < many.len());
/// assert_eq!(kept[..], many[..kept.len()]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn sign_own(
    keypair: &libp2p::identity::Keypair,
    seq: u64,
    mut fields: EnrFields,
) -> Result<Enr, EnrError> {
    loop {
        match Enr::sign_with_keypair(keypair, seq, &fields) {
            Err(EnrError::TooLarge(_)) if !fields.multiaddrs.is_empty() => {
                fields.multiaddrs.pop();
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enr_of(kp: &libp2p::identity::Keypair, seq: u64, waku2: u8) -> Enr {
        Enr::sign_with_keypair(
            kp,
            seq,
            &EnrFields {
                ip: Some(Ipv4Addr::LOCALHOST),
                tcp: Some(1000),
                waku2: Some(Waku2(waku2)),
                ..EnrFields::default()
            },
        )
        .unwrap()
    }

    #[test]
    fn book_answers_own_first_bounded_and_not_the_asker() {
        let me = libp2p::identity::Keypair::generate_secp256k1();
        let mut book = PeerBook::default();
        book.set_own(Some(enr_of(&me, 1, Waku2::RELAY)));
        let keys: Vec<_> = (0..70)
            .map(|_| libp2p::identity::Keypair::generate_secp256k1())
            .collect();
        let store = enr_of(&keys[0], 5, Waku2::RELAY | Waku2::STORE);
        assert_eq!(book.learn(me.public().to_peer_id(), vec![store.clone()]), 1);
        // an older record of the same peer is ignored, ours is never learned
        assert_eq!(
            book.learn(
                me.public().to_peer_id(),
                vec![
                    enr_of(&keys[0], 4, Waku2::RELAY),
                    enr_of(&me, 9, Waku2::RELAY)
                ]
            ),
            0
        );
        assert_eq!(book.stores().len(), 1);
        let all: Vec<Enr> = keys[1..].iter().map(|k| enr_of(k, 1, 1)).collect();
        book.learn(me.public().to_peer_id(), all);
        let rpc = book.answer(keys[5].public().to_peer_id(), Some(1000));
        let infos = rpc.response.unwrap().peer_infos;
        assert_eq!(infos.len(), MAX_PX_PEERS);
        let first = Enr::decode(infos[0].enr.as_deref().unwrap()).unwrap();
        assert_eq!(first.peer_id().unwrap(), me.public().to_peer_id());
        assert!(infos.iter().all(|i| {
            Enr::decode(i.enr.as_deref().unwrap())
                .unwrap()
                .peer_id()
                .unwrap()
                != keys[5].public().to_peer_id()
        }));
        let rpc = book.answer(keys[5].public().to_peer_id(), Some(2));
        assert_eq!(rpc.response.unwrap().peer_infos.len(), 2);
    }

    #[test]
    fn bad_records_in_an_answer_are_dropped() {
        let kp = libp2p::identity::Keypair::generate_secp256k1();
        let good = enr_of(&kp, 1, Waku2::STORE);
        let mut tampered = good.as_bytes().to_vec();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        let mut infos = vec![
            PeerInfo {
                enr: Some(good.as_bytes().to_vec()),
            },
            PeerInfo {
                enr: Some(tampered),
            },
            PeerInfo { enr: None },
            PeerInfo {
                enr: Some(vec![0xc0]),
            },
        ];
        for _ in 0..100 {
            infos.push(PeerInfo {
                enr: Some(good.as_bytes().to_vec()),
            });
        }
        let a = check_answer(PeerExchangeRpc {
            query: None,
            response: Some(PeerExchangeResponse { peer_infos: infos }),
        })
        .unwrap();
        assert_eq!(a.enrs.len(), MAX_PX_PEERS - 3);
        assert_eq!(a.dropped, 3 + (104 - MAX_PX_PEERS));
        assert!(a.first_error.is_some());
        assert!(matches!(
            check_answer(PeerExchangeRpc::default()),
            Err(PeerExchangeError::NoResponse)
        ));
    }

    #[test]
    fn own_fields_prefer_a_routable_tcp_address() {
        let listen: Vec<Multiaddr> = [
            "/ip4/0.0.0.0/tcp/1",
            "/ip4/127.0.0.1/tcp/60000",
            "/ip4/10.1.2.3/tcp/60000",
            "/ip4/10.1.2.3/tcp/60001/ws",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let f = own_fields(&listen, Waku2(Waku2::RELAY));
        assert_eq!(f.ip, Some(Ipv4Addr::new(10, 1, 2, 3)));
        assert_eq!(f.tcp, Some(60000));
        assert_eq!(
            f.multiaddrs,
            vec!["/ip4/10.1.2.3/tcp/60001/ws".parse::<Multiaddr>().unwrap()]
        );
        // many ws addresses: the record still fits
        let many: Vec<Multiaddr> = (0..40)
            .map(|i| {
                format!("/ip4/10.0.0.{i}/tcp/{}/ws", 2000 + i)
                    .parse()
                    .unwrap()
            })
            .collect();
        let kp = libp2p::identity::Keypair::generate_secp256k1();
        let enr = sign_own(&kp, 1, own_fields(&many, Waku2(1))).unwrap();
        assert!(enr.as_bytes().len() <= MAX_ENR_SIZE);
        assert!(!enr.multiaddrs().unwrap().is_empty());
    }
}
