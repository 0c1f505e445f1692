//! Length-prefixed protobuf framing of the Waku request/response protocols: one unsigned
//! varint length, then that many bytes of protobuf, each way (what js-waku's `it-length-
//! prefixed` and nwaku's `readLp`/`writeLp` do). The length is checked against a limit
//! before anything is allocated.

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use prost::Message;

/// Why a framed message could not be read or written.
///
/// # Examples
///
/// What a reader gets from a stream that ends early, ends before anything, or announces a
/// length that is not a varint:
///
/// ```
/// use futures::executor::block_on;
/// use pfs_node::codec::{CodecError, read_message};
/// use pfs_wire::waku::WakuMetadataRequest;
///
/// let read =
///     |bytes: &[u8]| block_on(read_message::<_, WakuMetadataRequest>(&mut &bytes[..], 100));
/// assert!(matches!(read(&[6, 0x08, 0x10]), Err(CodecError::Io(_)))); // 6 announced, 2 sent
/// assert!(matches!(read(&[]), Err(CodecError::Closed)));
/// assert!(matches!(read(&[0xff; 11]), Err(CodecError::BadLength)));
/// assert!(matches!(read(&[200, 1]), Err(CodecError::TooLarge { len: 200, max: 100 })));
/// assert!(matches!(read(&[1, 0xff]), Err(CodecError::Decode(_))));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The stream failed or ended early.
    #[error("stream: {0}")]
    Io(#[from] std::io::Error),
    /// The stream ended before a length prefix.
    #[error("stream closed before a message")]
    Closed,
    /// The length prefix is not a valid varint (longer than 10 bytes or over 64 bits).
    #[error("invalid length prefix")]
    BadLength,
    /// The announced length exceeds the protocol's limit.
    #[error("message of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// Announced length.
        len: u64,
        /// The limit.
        max: usize,
    },
    /// The bytes are not the expected protobuf.
    #[error("invalid protobuf: {0}")]
    Decode(#[from] prost::DecodeError),
}

/// Encodes the varint length prefix of `len`.
///
/// # Examples
///
/// Unsigned LEB128 varints, as protobuf encodes them (300 is the protobuf
/// documentation's example):
///
/// ```
/// use pfs_node::codec::length_prefix;
///
/// assert_eq!(length_prefix(0), [0x00]);
/// assert_eq!(length_prefix(127), [0x7f]);
/// assert_eq!(length_prefix(300), [0xac, 0x02]);
/// ```
pub fn length_prefix(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(10);
    let mut v = len as u64;
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// Writes one length-prefixed message and flushes (the stream stays open).
///
/// # Examples
///
/// The varint length, then the protobuf (here `cluster_id = 16` as field 1 and the shards
/// 32 and 64 as field 2, unpacked, as nwaku writes them):
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use futures::executor::block_on;
/// use pfs_node::codec::write_message;
/// use pfs_wire::waku::WakuMetadataRequest;
///
/// let req = WakuMetadataRequest { cluster_id: Some(16), shards: vec![32, 64] };
/// let mut wire = Vec::new();
/// block_on(write_message(&mut wire, &req))?;
/// assert_eq!(wire, [6, 0x08, 0x10, 0x10, 0x20, 0x10, 0x40]);
/// # Ok(())
/// # }
/// ```
pub async fn write_message<W: AsyncWrite + Unpin, M: Message>(
    w: &mut W,
    msg: &M,
) -> Result<(), CodecError> {
    let body = msg.encode_to_vec();
    let mut frame = length_prefix(body.len());
    frame.extend_from_slice(&body);
    w.write_all(&frame).await?;
    w.flush().await?;
    Ok(())
}

/// Reads a varint length prefix; `Ok(None)` on a clean end of stream before it.
async fn read_length<R: AsyncRead + Unpin>(r: &mut R) -> Result<Option<u64>, CodecError> {
    let mut value: u64 = 0;
    for i in 0..10u32 {
        let mut b = [0u8; 1];
        let n = r.read(&mut b).await?;
        if n == 0 {
            return if i == 0 {
                Ok(None)
            } else {
                Err(CodecError::Io(std::io::ErrorKind::UnexpectedEof.into()))
            };
        }
        let part = u64::from(b[0] & 0x7f);
        if i == 9 && part > 1 {
            return Err(CodecError::BadLength);
        }
        value |= part << (7 * i);
        if b[0] & 0x80 == 0 {
            return Ok(Some(value));
        }
    }
    Err(CodecError::BadLength)
}

/// Reads the raw bytes of one length-prefixed message of at most `max` bytes;
/// `Ok(None)` on a clean end of stream.
///
/// # Examples
///
/// Frames are read one after the other; a clean end of stream is `None`:
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use futures::executor::block_on;
/// use pfs_node::codec::{CodecError, read_frame};
///
/// let mut wire: &[u8] = &[2, 0xaa, 0xbb, 0, 1, 0xcc];
/// assert_eq!(block_on(read_frame(&mut wire, 10))?, Some(vec![0xaa, 0xbb]));
/// assert_eq!(block_on(read_frame(&mut wire, 10))?, Some(vec![]));
/// assert_eq!(block_on(read_frame(&mut wire, 10))?, Some(vec![0xcc]));
/// assert_eq!(block_on(read_frame(&mut wire, 10))?, None);
/// let mut big: &[u8] = &[11];
/// let refused = block_on(read_frame(&mut big, 10));
/// assert!(matches!(refused, Err(CodecError::TooLarge { len: 11, max: 10 })));
/// # Ok(())
/// # }
/// ```
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    max: usize,
) -> Result<Option<Vec<u8>>, CodecError> {
    let Some(len) = read_length(r).await? else {
        return Ok(None);
    };
    if len > max as u64 {
        return Err(CodecError::TooLarge { len, max });
    }
    let mut body = vec![0u8; len as usize];
    r.read_exact(&mut body).await?;
    Ok(Some(body))
}

/// Reads one length-prefixed message of at most `max` bytes.
///
/// # Examples
///
/// ```
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use futures::executor::block_on;
/// use futures::io::Cursor;
/// use pfs_node::codec::{CodecError, read_message, write_message};
/// use pfs_wire::waku::WakuMessage;
///
/// let msg = WakuMessage { payload: vec![1, 2, 3], content_topic: "/a/1/b/proto".into(), ..WakuMessage::default() };
/// let mut wire = Cursor::new(Vec::new());
/// block_on(write_message(&mut wire, &msg))?;
/// let bytes = wire.into_inner();
/// let back: WakuMessage = block_on(read_message(&mut Cursor::new(bytes.clone()), 1024))?;
/// assert_eq!(back, msg);
/// // The announced length is checked before anything is read.
/// let small = block_on(read_message::<_, WakuMessage>(&mut Cursor::new(bytes), 4));
/// assert!(matches!(small, Err(CodecError::TooLarge { max: 4, .. })));
/// # Ok(())
/// # }
/// ```
pub async fn read_message<R: AsyncRead + Unpin, M: Message + Default>(
    r: &mut R,
    max: usize,
) -> Result<M, CodecError> {
    let body = read_frame(r, max).await?.ok_or(CodecError::Closed)?;
    Ok(M::decode(body.as_slice())?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pfs_wire::waku::WakuMetadataRequest;

    fn block<F: std::future::Future>(f: F) -> F::Output {
        futures::executor::block_on(f)
    }

    #[test]
    fn varint_prefixes_are_the_protobuf_varints() {
        // protobuf encoding guide: 1 -> 01, 150 -> 96 01, 300 -> ac 02
        assert_eq!(length_prefix(1), [0x01]);
        assert_eq!(length_prefix(150), [0x96, 0x01]);
        assert_eq!(length_prefix(300), [0xac, 0x02]);
        assert_eq!(length_prefix(0), [0x00]);
    }

    #[test]
    fn round_trip_and_limits() {
        let m = WakuMetadataRequest {
            cluster_id: Some(16),
            shards: vec![32, 64],
        };
        let mut buf = Vec::new();
        block(write_message(&mut buf, &m)).unwrap();
        // nwaku writes shards unpacked: field 2 varint twice
        assert_eq!(buf, [6, 0x08, 0x10, 0x10, 0x20, 0x10, 0x40]);
        let got: WakuMetadataRequest = block(read_message(&mut buf.as_slice(), 100)).unwrap();
        assert_eq!(got, m);
        assert!(matches!(
            block(read_message::<_, WakuMetadataRequest>(
                &mut buf.as_slice(),
                3
            )),
            Err(CodecError::TooLarge { len: 6, max: 3 })
        ));
        assert!(matches!(
            block(read_message::<_, WakuMetadataRequest>(&mut &buf[..4], 100)),
            Err(CodecError::Io(_))
        ));
        assert!(matches!(
            block(read_message::<_, WakuMetadataRequest>(&mut &[][..], 100)),
            Err(CodecError::Closed)
        ));
        let huge = [0xffu8; 11];
        assert!(matches!(
            block(read_message::<_, WakuMetadataRequest>(&mut &huge[..], 100)),
            Err(CodecError::BadLength)
        ));
        // a 2 GiB announcement is refused before allocating
        let mut two_gib = length_prefix(1 << 31);
        two_gib.push(0);
        assert!(matches!(
            block(read_message::<_, WakuMetadataRequest>(
                &mut two_gib.as_slice(),
                1 << 20
            )),
            Err(CodecError::TooLarge { .. })
        ));
    }
}
