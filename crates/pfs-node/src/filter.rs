//! The filter service's subscriptions (12/WAKU2-FILTER v2, server side): who wants which
//! (pubsub topic, content topic) pairs, with nwaku's limits, and the status codes the
//! protocol answers with.

use std::collections::{BTreeSet, HashMap};

use libp2p::PeerId;

/// Limits of the filter service (nwaku's defaults).
///
/// ```
/// use pfs_node::filter::FilterLimits;
///
/// // nwaku's defaults
/// let limits = FilterLimits::default();
/// assert_eq!((limits.max_peers, limits.max_criteria_per_peer, limits.max_content_topics_per_request), (100, 1000, 100));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterLimits {
    /// Most subscribed peers at once (nwaku: 100).
    pub max_peers: usize,
    /// Most (pubsub topic, content topic) criteria per peer (nwaku: 1000).
    pub max_criteria_per_peer: usize,
    /// Most content topics in one request (nwaku `MaxContentTopicsPerRequest`: 100).
    pub max_content_topics_per_request: usize,
}

impl Default for FilterLimits {
    fn default() -> Self {
        FilterLimits {
            max_peers: 100,
            max_criteria_per_peer: 1000,
            max_content_topics_per_request: 100,
        }
    }
}

/// A refused filter request: the status code and description sent back.
///
/// ```
/// use pfs_node::PeerId;
/// use pfs_node::filter::{FilterLimits, FilterRegistry};
///
/// let mut reg = FilterRegistry::new(FilterLimits { max_criteria_per_peer: 1, ..FilterLimits::default() });
/// let topics: Vec<String> = vec!["/a/1/x/proto".into(), "/a/1/y/proto".into()];
/// let refusal = reg.subscribe(PeerId::random(), Some("/waku/2/rs/16/32"), &topics).unwrap_err();
/// assert_eq!(refusal.status, 429);
/// assert!(refusal.description.contains("criteria"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterRefusal {
    /// 400 bad request, 404 not found, 429 too many criteria, 503 too many peers.
    pub status: u32,
    /// Human-readable reason.
    pub description: &'static str,
}

const fn refuse(status: u32, description: &'static str) -> FilterRefusal {
    FilterRefusal {
        status,
        description,
    }
}

/// The subscriptions of every filter client.
///
/// ```
/// use pfs_node::PeerId;
/// use pfs_node::filter::FilterRegistry;
///
/// let mut reg = FilterRegistry::default();
/// let peer = PeerId::random();
/// let topics = vec!["/waku/1/0x01020304/rfc26".to_owned()];
/// reg.subscribe(peer, Some("/waku/2/rs/16/32"), &topics)?;
/// reg.subscribe(peer, Some("/waku/2/rs/16/32"), &topics)?; // idempotent
/// assert_eq!((reg.peer_count(), reg.matching("/waku/2/rs/16/32", &topics[0])), (1, vec![peer]));
/// # Ok::<(), pfs_node::filter::FilterRefusal>(())
/// ```
#[derive(Debug, Default)]
pub struct FilterRegistry {
    limits: FilterLimits,
    subs: HashMap<PeerId, BTreeSet<(String, String)>>,
}

impl FilterRegistry {
    /// An empty registry with `limits`.
    ///
    /// ```
    /// use pfs_node::PeerId;
    /// use pfs_node::filter::{FilterLimits, FilterRegistry};
    ///
    /// let mut reg = FilterRegistry::new(FilterLimits { max_content_topics_per_request: 2, ..FilterLimits::default() });
    /// assert_eq!(reg.peer_count(), 0);
    /// let three: Vec<String> = (0..3).map(|i| format!("/a/1/t{i}/proto")).collect();
    /// assert_eq!(reg.subscribe(PeerId::random(), Some("/waku/2/rs/16/32"), &three).map_err(|r| r.status), Err(400));
    /// ```
    pub fn new(limits: FilterLimits) -> Self {
        FilterRegistry {
            limits,
            subs: HashMap::new(),
        }
    }

    fn criteria(
        &self,
        pubsub_topic: Option<&str>,
        content_topics: &[String],
    ) -> Result<Vec<(String, String)>, FilterRefusal> {
        let pubsub = match pubsub_topic {
            Some(p) if !p.is_empty() => p,
            _ => return Err(refuse(400, "pubsub topic required")),
        };
        if content_topics.is_empty() {
            return Err(refuse(400, "at least one content topic required"));
        }
        if content_topics.len() > self.limits.max_content_topics_per_request {
            return Err(refuse(400, "too many content topics in one request"));
        }
        if content_topics.iter().any(String::is_empty) {
            return Err(refuse(400, "empty content topic"));
        }
        Ok(content_topics
            .iter()
            .map(|c| (pubsub.to_owned(), c.clone()))
            .collect())
    }

    /// SUBSCRIBE: adds the criteria (idempotent).
    ///
    /// # Examples
    ///
    /// ```
    /// use pfs_node::PeerId;
    /// use pfs_node::filter::{FilterLimits, FilterRegistry};
    ///
    /// let mut reg = FilterRegistry::new(FilterLimits { max_peers: 1, ..FilterLimits::default() });
    /// let (alice, bob) = (PeerId::random(), PeerId::random());
    /// let shard = Some("/waku/2/rs/16/32");
    /// let topics = vec!["/waku/1/0x01020304/rfc26".to_owned()];
    /// assert_eq!(reg.subscribe(alice, shard, &topics), Ok(()));
    /// assert_eq!(reg.matching("/waku/2/rs/16/32", &topics[0]), vec![alice]);
    /// assert!(reg.matching("/waku/2/rs/16/64", &topics[0]).is_empty());
    /// // Refusals carry the protocol's status codes.
    /// assert_eq!(reg.subscribe(bob, shard, &topics).map_err(|r| r.status), Err(503));
    /// assert_eq!(reg.subscribe(alice, None, &topics).map_err(|r| r.status), Err(400));
    /// assert_eq!(reg.unsubscribe(alice, shard, &topics), Ok(()));
    /// assert_eq!(reg.ping(alice).map_err(|r| r.status), Err(404));
    /// ```
    pub fn subscribe(
        &mut self,
        peer: PeerId,
        pubsub_topic: Option<&str>,
        content_topics: &[String],
    ) -> Result<(), FilterRefusal> {
        let wanted = self.criteria(pubsub_topic, content_topics)?;
        if !self.subs.contains_key(&peer) && self.subs.len() >= self.limits.max_peers {
            return Err(refuse(
                503,
                "node has reached the maximum number of subscribed peers",
            ));
        }
        let current = self.subs.get(&peer);
        let new = wanted
            .iter()
            .filter(|c| !current.is_some_and(|s| s.contains(*c)))
            .count();
        let have = current.map_or(0, BTreeSet::len);
        if have + new > self.limits.max_criteria_per_peer {
            return Err(refuse(
                429,
                "peer has reached the maximum number of filter criteria",
            ));
        }
        self.subs.entry(peer).or_default().extend(wanted);
        Ok(())
    }

    /// UNSUBSCRIBE: removes the criteria; 404 when the peer has none of them.
    ///
    /// ```
    /// use pfs_node::PeerId;
    /// use pfs_node::filter::FilterRegistry;
    ///
    /// let mut reg = FilterRegistry::default();
    /// let peer = PeerId::random();
    /// let shard = Some("/waku/2/rs/16/32");
    /// let (a, b) = (vec!["/a/1/x/proto".to_owned()], vec!["/a/1/y/proto".to_owned()]);
    /// reg.subscribe(peer, shard, &a)?;
    /// assert_eq!(reg.unsubscribe(peer, shard, &b).map_err(|r| r.status), Err(404)); // not subscribed to it
    /// reg.unsubscribe(peer, shard, &a)?;
    /// assert_eq!(reg.peer_count(), 0); // its last criterion: the peer is gone
    /// # Ok::<(), pfs_node::filter::FilterRefusal>(())
    /// ```
    pub fn unsubscribe(
        &mut self,
        peer: PeerId,
        pubsub_topic: Option<&str>,
        content_topics: &[String],
    ) -> Result<(), FilterRefusal> {
        let wanted = self.criteria(pubsub_topic, content_topics)?;
        let Some(set) = self.subs.get_mut(&peer) else {
            return Err(refuse(404, "peer has no subscriptions"));
        };
        let mut removed = false;
        for c in &wanted {
            removed |= set.remove(c);
        }
        if set.is_empty() {
            self.subs.remove(&peer);
        }
        if removed {
            Ok(())
        } else {
            Err(refuse(
                404,
                "peer was not subscribed to any of these criteria",
            ))
        }
    }

    /// UNSUBSCRIBE_ALL: 404 when the peer has no subscription.
    ///
    /// ```
    /// use pfs_node::PeerId;
    /// use pfs_node::filter::FilterRegistry;
    ///
    /// let mut reg = FilterRegistry::default();
    /// let peer = PeerId::random();
    /// let topics: Vec<String> = (0..3).map(|i| format!("/a/1/t{i}/proto")).collect();
    /// reg.subscribe(peer, Some("/waku/2/rs/16/32"), &topics)?;
    /// reg.unsubscribe_all(peer)?;
    /// assert!(reg.matching("/waku/2/rs/16/32", &topics[0]).is_empty());
    /// assert_eq!(reg.unsubscribe_all(peer).map_err(|r| r.status), Err(404));
    /// # Ok::<(), pfs_node::filter::FilterRefusal>(())
    /// ```
    pub fn unsubscribe_all(&mut self, peer: PeerId) -> Result<(), FilterRefusal> {
        self.subs
            .remove(&peer)
            .map(|_| ())
            .ok_or(refuse(404, "peer has no subscriptions"))
    }

    /// SUBSCRIBER_PING: 404 when the peer has no subscription.
    ///
    /// ```
    /// use pfs_node::PeerId;
    /// use pfs_node::filter::FilterRegistry;
    ///
    /// let mut reg = FilterRegistry::default();
    /// let peer = PeerId::random();
    /// assert_eq!(reg.ping(peer).map_err(|r| r.status), Err(404));
    /// let topics = vec!["/waku/1/0x01020304/rfc26".to_owned()];
    /// reg.subscribe(peer, Some("/waku/2/rs/16/32"), &topics)?;
    /// assert_eq!(reg.ping(peer), Ok(()));
    /// # Ok::<(), pfs_node::filter::FilterRefusal>(())
    /// ```
    pub fn ping(&self, peer: PeerId) -> Result<(), FilterRefusal> {
        if self.subs.contains_key(&peer) {
            Ok(())
        } else {
            Err(refuse(404, "peer has no subscriptions"))
        }
    }

    /// The peers subscribed to (pubsub topic, content topic).
    ///
    /// ```
    /// use pfs_node::PeerId;
    /// use pfs_node::filter::FilterRegistry;
    ///
    /// let mut reg = FilterRegistry::default();
    /// let (a, b) = (PeerId::random(), PeerId::random());
    /// let shard = Some("/waku/2/rs/16/32");
    /// reg.subscribe(a, shard, &["/x/1/t/proto".to_owned(), "/y/1/t/proto".to_owned()])?;
    /// reg.subscribe(b, shard, &["/x/1/t/proto".to_owned()])?;
    /// let mut both = reg.matching("/waku/2/rs/16/32", "/x/1/t/proto");
    /// both.sort();
    /// let mut want = vec![a, b];
    /// want.sort();
    /// assert_eq!(both, want);
    /// assert_eq!(reg.matching("/waku/2/rs/16/32", "/y/1/t/proto"), [a]);
    /// # Ok::<(), pfs_node::filter::FilterRefusal>(())
    /// ```
    pub fn matching(&self, pubsub_topic: &str, content_topic: &str) -> Vec<PeerId> {
        let key = (pubsub_topic.to_owned(), content_topic.to_owned());
        self.subs
            .iter()
            .filter(|(_, s)| s.contains(&key))
            .map(|(p, _)| *p)
            .collect()
    }

    /// Forgets a peer (its last connection closed).
    ///
    /// ```
    /// use pfs_node::PeerId;
    /// use pfs_node::filter::FilterRegistry;
    ///
    /// let mut reg = FilterRegistry::default();
    /// let peer = PeerId::random();
    /// let topics = vec!["/waku/1/0x01020304/rfc26".to_owned()];
    /// reg.subscribe(peer, Some("/waku/2/rs/16/32"), &topics)?;
    /// reg.remove_peer(&peer);
    /// reg.remove_peer(&peer); // unknown peers are ignored
    /// assert_eq!(reg.peer_count(), 0);
    /// # Ok::<(), pfs_node::filter::FilterRefusal>(())
    /// ```
    pub fn remove_peer(&mut self, peer: &PeerId) {
        self.subs.remove(peer);
    }

    /// Number of subscribed peers.
    ///
    /// ```
    /// use pfs_node::PeerId;
    /// use pfs_node::filter::FilterRegistry;
    ///
    /// let mut reg = FilterRegistry::default();
    /// let topics: Vec<String> = (0..2).map(|i| format!("/a/1/t{i}/proto")).collect();
    /// let peer = PeerId::random();
    /// reg.subscribe(peer, Some("/waku/2/rs/16/32"), &topics)?;
    /// reg.subscribe(peer, Some("/waku/2/rs/16/64"), &topics)?;
    /// assert_eq!(reg.peer_count(), 1); // peers, not criteria
    /// # Ok::<(), pfs_node::filter::FilterRefusal>(())
    /// ```
    pub fn peer_count(&self) -> usize {
        self.subs.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("/app/1/t{i}/proto")).collect()
    }

    const PS: Option<&str> = Some("/waku/2/rs/16/32");

    #[test]
    fn subscribe_match_unsubscribe() {
        let mut r = FilterRegistry::new(FilterLimits::default());
        let a = PeerId::random();
        let b = PeerId::random();
        assert_eq!(r.ping(a).unwrap_err().status, 404);
        r.subscribe(a, PS, &topics(2)).unwrap();
        r.subscribe(b, PS, &topics(1)).unwrap();
        r.subscribe(b, PS, &topics(1)).unwrap();
        let mut m = r.matching("/waku/2/rs/16/32", "/app/1/t0/proto");
        m.sort();
        let mut want = vec![a, b];
        want.sort();
        assert_eq!(m, want);
        assert_eq!(r.matching("/waku/2/rs/16/32", "/app/1/t1/proto"), vec![a]);
        assert!(r.matching("/waku/2/rs/16/64", "/app/1/t0/proto").is_empty());
        r.ping(a).unwrap();
        assert_eq!(
            r.unsubscribe(a, PS, &["/x".into()]).unwrap_err().status,
            404
        );
        r.unsubscribe(a, PS, &topics(1)).unwrap();
        assert_eq!(r.matching("/waku/2/rs/16/32", "/app/1/t0/proto"), vec![b]);
        r.unsubscribe_all(b).unwrap();
        assert_eq!(r.unsubscribe_all(b).unwrap_err().status, 404);
        assert_eq!(r.peer_count(), 1);
    }

    #[test]
    fn bad_requests_and_limits() {
        let mut r = FilterRegistry::new(FilterLimits {
            max_peers: 2,
            max_criteria_per_peer: 150,
            max_content_topics_per_request: 100,
        });
        let a = PeerId::random();
        assert_eq!(r.subscribe(a, None, &topics(1)).unwrap_err().status, 400);
        assert_eq!(
            r.subscribe(a, Some(""), &topics(1)).unwrap_err().status,
            400
        );
        assert_eq!(r.subscribe(a, PS, &[]).unwrap_err().status, 400);
        assert_eq!(r.subscribe(a, PS, &topics(101)).unwrap_err().status, 400);
        r.subscribe(a, PS, &topics(100)).unwrap();
        // 100 + 60 new criteria > 150
        let more: Vec<String> = (100..160).map(|i| format!("/app/1/t{i}/proto")).collect();
        assert_eq!(r.subscribe(a, PS, &more).unwrap_err().status, 429);
        r.subscribe(a, PS, &more[..50]).unwrap();
        r.subscribe(PeerId::random(), PS, &topics(1)).unwrap();
        assert_eq!(
            r.subscribe(PeerId::random(), PS, &topics(1))
                .unwrap_err()
                .status,
            503
        );
        // an existing peer can still change its subscriptions
        r.subscribe(a, PS, &topics(1)).unwrap();
        assert_eq!(r.peer_count(), 2);
    }
}
