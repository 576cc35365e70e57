//! SRT's payload encryption: AES in counter mode as libsrt's HaiCrypt lays it out, with each
//! stream key's AES key schedule expanded once.
//!
//! srt-protocol's `Encryption` and `Decryption` expand the key schedule of every packet's key
//! anew (AES-256: 15 round keys, plus the decryption schedule CTR never uses) and copy every
//! payload once more; at hundreds of MB/s that was 12 % of the proxy's CPU (docs/benchmarks.md).
//! Here a [`StreamCipher`] holds the stream keys (even, odd) with their schedules, the salt and the
//! key-encrypting key (KEK) derived from the passphrase. The KEK is derived (PBKDF2, 2048 rounds of
//! HMAC-SHA1) once per connection and kept, so a key refresh wraps and unwraps without deriving it
//! again. Payloads are encrypted and decrypted in place. The counter block is srt-protocol's
//! (`Salt::generate_strean_iv_for`, a 64-bit big-endian block counter), which libsrt 1.5 interop
//! tests check in both directions; key wrapping (RFC 3394) is srt-protocol's too.
//!
//! `SendKeys` is the sender's side: which key is active, and the refresh schedule srt-protocol
//! runs (announce a new key for the other parity `pre-announcement` packets before the switch,
//! repeat the announcement until the peer answers, switch every `period` packets once it has).

use std::fmt;

use aes::cipher::{InnerIvInit as _, KeyInit, StreamCipher as _, StreamCipherCoreWrapper};
use aes::{Aes128Enc, Aes192Enc, Aes256Enc};
use bytes::BytesMut;
use srt_protocol::packet::{
    Auth, CipherType, DataEncryption, DataPacket, KeyFlags, KeyingMaterialMessage, PacketType,
    SeqNumber,
};
use srt_protocol::protocol::encryption::key::{EncryptionKey, KeyEncryptionKey, Salt};
use srt_protocol::settings::{
    CipherSettings, KeyMaterialRefreshSettings, KeySettings, KeySize, Passphrase,
};

/// Bytes of the AES key wrap's integrity block in front of the wrapped keys (RFC 3394).
const WRAP_OVERHEAD: usize = 8;
/// Bytes of an SRT salt.
const SALT_BYTES: usize = 16;
/// A key announcement is repeated every this many packets (at most) until the peer answers.
const ANNOUNCEMENT_REPEAT: usize = 1_000;

/// One stream key (SEK) and its expanded AES encryption schedule (CTR only ever encrypts).
#[derive(Clone)]
struct StreamKey {
    key: EncryptionKey,
    schedule: KeySchedule,
}

#[derive(Clone)]
enum KeySchedule {
    Aes128(Aes128Enc),
    Aes192(Aes192Enc),
    Aes256(Aes256Enc),
}

/// CTR over a borrowed key schedule: nothing is expanded or copied per packet.
type Ctr<'a, C> = ctr::CtrCore<&'a C, ctr::flavors::Ctr64BE>;

impl StreamKey {
    fn new(key: EncryptionKey) -> Self {
        let schedule = match &key {
            EncryptionKey::Bytes16(k) => KeySchedule::Aes128(Aes128Enc::new(k.into())),
            EncryptionKey::Bytes24(k) => KeySchedule::Aes192(Aes192Enc::new(k.into())),
            EncryptionKey::Bytes32(k) => KeySchedule::Aes256(Aes256Enc::new(k.into())),
        };
        Self { key, schedule }
    }

    /// XORs `data` with the key stream that starts at counter block `iv`.
    fn apply_keystream(&self, iv: &[u8; 16], data: &mut [u8]) {
        let iv = iv.into();
        match &self.schedule {
            KeySchedule::Aes128(c) => {
                StreamCipherCoreWrapper::from_core(Ctr::<Aes128Enc>::inner_iv_init(c, iv))
                    .apply_keystream(data)
            }
            KeySchedule::Aes192(c) => {
                StreamCipherCoreWrapper::from_core(Ctr::<Aes192Enc>::inner_iv_init(c, iv))
                    .apply_keystream(data)
            }
            KeySchedule::Aes256(c) => {
                StreamCipherCoreWrapper::from_core(Ctr::<Aes256Enc>::inner_iv_init(c, iv))
                    .apply_keystream(data)
            }
        }
    }
}

/// The keys of one direction of an encrypted connection (see the module docs).
#[derive(Clone)]
pub struct StreamCipher {
    key_settings: KeySettings,
    key_refresh: KeyMaterialRefreshSettings,
    kek: KeyEncryptionKey,
    salt: Salt,
    even: Option<StreamKey>,
    odd: Option<StreamKey>,
}

impl fmt::Debug for StreamCipher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never the keys, nor the passphrase.
        f.debug_struct("StreamCipher")
            .field("key_bytes", &self.key_bytes())
            .field("even", &self.even.is_some())
            .field("odd", &self.odd.is_some())
            .field("key_refresh", &self.key_refresh)
            .finish_non_exhaustive()
    }
}

impl StreamCipher {
    /// Fresh random keys (both parities, as srt-protocol's caller sends them) and salt for
    /// `key_settings`; an unspecified key size means AES-128.
    pub fn new_random(key_settings: &KeySettings) -> Self {
        let key_settings = KeySettings {
            key_size: match key_settings.key_size {
                KeySize::Unspecified => KeySize::AES128,
                size => size,
            },
            passphrase: key_settings.passphrase.clone(),
        };
        let salt = Salt::new_random();
        let kek = KeyEncryptionKey::new(&key_settings, &salt);
        Self {
            even: Some(StreamKey::new(EncryptionKey::new_random(
                key_settings.key_size,
            ))),
            odd: Some(StreamKey::new(EncryptionKey::new_random(
                key_settings.key_size,
            ))),
            key_settings,
            key_refresh: KeyMaterialRefreshSettings::default(),
            kek,
            salt,
        }
    }

    /// The keys `key_material` carries, unwrapped with `passphrase`; `None` when it does not
    /// unwrap (another passphrase) or is malformed (salt or wrapped keys of the wrong length for
    /// its key flags).
    pub fn unwrap(passphrase: &Passphrase, key_material: &KeyingMaterialMessage) -> Option<Self> {
        let key_size = key_size_of(key_material)?;
        let key_settings = KeySettings {
            key_size,
            passphrase: passphrase.clone(),
        };
        let salt = salt_of(key_material)?;
        let kek = KeyEncryptionKey::new(&key_settings, &salt);
        let (even, odd) = unwrap_keys(&kek, key_size, key_material)?;
        Some(Self {
            key_settings,
            key_refresh: KeyMaterialRefreshSettings::default(),
            kek,
            salt,
            even,
            odd,
        })
    }

    /// The keys of srt-protocol's cipher settings (its rendezvous handshake's result), by
    /// wrapping and unwrapping them: two key derivations, once per rendezvous connection.
    pub fn from_srt_protocol(settings: &CipherSettings) -> Option<Self> {
        let key_material = settings.wrap_keying_material()?;
        Some(
            Self::unwrap(&settings.key_settings.passphrase, &key_material)?
                .with_key_refresh(settings.key_refresh.clone()),
        )
    }

    /// The same keys with another refresh schedule (for the sender; tests use short ones).
    pub fn with_key_refresh(mut self, key_refresh: KeyMaterialRefreshSettings) -> Self {
        self.key_refresh = key_refresh;
        self
    }

    /// The sender's key refresh schedule.
    pub fn key_refresh(&self) -> &KeyMaterialRefreshSettings {
        &self.key_refresh
    }

    /// The key length and passphrase these keys are for.
    pub fn key_settings(&self) -> &KeySettings {
        &self.key_settings
    }

    /// Bytes per stream key: 16, 24 or 32.
    pub fn key_bytes(&self) -> usize {
        usize::from(key_bytes(self.key_settings.key_size))
    }

    /// The keys wrapped for the peer (the handshake's KMREQ/KMRSP, a refresh announcement);
    /// `None` without a key.
    pub fn key_material(&self) -> Option<KeyingMaterialMessage> {
        let key_flags = match (&self.even, &self.odd) {
            (Some(_), Some(_)) => KeyFlags::EVEN | KeyFlags::ODD,
            (Some(_), None) => KeyFlags::EVEN,
            (None, Some(_)) => KeyFlags::ODD,
            (None, None) => return None,
        };
        let mut keys = Vec::with_capacity(2 * self.key_bytes());
        for key in [&self.even, &self.odd].into_iter().flatten() {
            keys.extend_from_slice(key.key.as_bytes());
        }
        Some(KeyingMaterialMessage {
            pt: PacketType::KeyingMaterial,
            key_flags,
            keki: 0,
            cipher: CipherType::Ctr,
            auth: Auth::None,
            salt: self.salt.as_slice().to_vec(),
            wrapped_keys: self.kek.encrypt_wrapped_keys(&keys),
        })
    }

    /// Takes the keys of the peer's refresh announcement; false (and nothing changed) when it
    /// does not unwrap. The KEK is derived again only when the salt changed.
    pub fn refresh_from(&mut self, key_material: &KeyingMaterialMessage) -> bool {
        let Some(key_size) = key_size_of(key_material) else {
            return false;
        };
        if key_size != self.key_settings.key_size {
            return false;
        }
        let Some(salt) = salt_of(key_material) else {
            return false;
        };
        let kek = if salt == self.salt {
            self.kek.clone()
        } else {
            KeyEncryptionKey::new(&self.key_settings, &salt)
        };
        let Some((even, odd)) = unwrap_keys(&kek, key_size, key_material) else {
            return false;
        };
        self.kek = kek;
        self.salt = salt;
        self.even = even;
        self.odd = odd;
        true
    }

    /// The first parity with a key (even, else odd), as the sender starts.
    fn first_parity(&self) -> DataEncryption {
        if self.even.is_some() {
            DataEncryption::Even
        } else if self.odd.is_some() {
            DataEncryption::Odd
        } else {
            DataEncryption::None
        }
    }

    fn key(&self, parity: DataEncryption) -> Option<&StreamKey> {
        match parity {
            DataEncryption::Even => self.even.as_ref(),
            DataEncryption::Odd => self.odd.as_ref(),
            DataEncryption::None => None,
        }
    }

    /// Encrypts or decrypts (CTR is its own inverse) packet `seq`'s payload in place with the
    /// key of `parity`; false (and `data` unchanged) when there is no such key.
    pub fn apply(&self, parity: DataEncryption, seq: SeqNumber, data: &mut [u8]) -> bool {
        let Some(key) = self.key(parity) else {
            return false;
        };
        let iv = self.salt.generate_strean_iv_for(seq);
        let mut block = [0u8; 16];
        block.copy_from_slice(iv.as_bytes());
        key.apply_keystream(&block, data);
        true
    }

    /// A new random key for the parity other than `active`, and both keys wrapped to announce.
    fn commission_next_key(&mut self, active: DataEncryption) -> Option<KeyingMaterialMessage> {
        let key = StreamKey::new(EncryptionKey::new_random(self.key_settings.key_size));
        match active {
            DataEncryption::Even => self.odd = Some(key),
            DataEncryption::Odd => self.even = Some(key),
            DataEncryption::None => return None,
        }
        self.key_material()
    }
}

fn key_bytes(key_size: KeySize) -> u8 {
    match key_size {
        KeySize::AES192 => 24,
        KeySize::AES256 => 32,
        KeySize::AES128 | KeySize::Unspecified => 16,
    }
}

/// The AES key length, in bytes, that a key material carries; `None` when it fits no AES key.
pub(crate) fn key_bytes_of(key_material: &KeyingMaterialMessage) -> Option<u8> {
    key_size_of(key_material).map(key_bytes)
}

/// The key length a key material carries: its wrapped keys' length over its number of keys.
fn key_size_of(key_material: &KeyingMaterialMessage) -> Option<KeySize> {
    let keys = key_material.key_flags.bits().count_ones() as usize;
    let bytes = key_material.wrapped_keys.len().checked_sub(WRAP_OVERHEAD)?;
    if keys == 0 || bytes % keys != 0 {
        return None;
    }
    match bytes / keys {
        16 => Some(KeySize::AES128),
        24 => Some(KeySize::AES192),
        32 => Some(KeySize::AES256),
        _ => None,
    }
}

fn salt_of(key_material: &KeyingMaterialMessage) -> Option<Salt> {
    if key_material.salt.len() != SALT_BYTES {
        return None;
    }
    Salt::try_from(&key_material.salt).ok()
}

/// The even and odd keys of `key_material` (whose length `key_size_of` checked), unwrapped.
#[allow(clippy::type_complexity)]
fn unwrap_keys(
    kek: &KeyEncryptionKey,
    key_size: KeySize,
    key_material: &KeyingMaterialMessage,
) -> Option<(Option<StreamKey>, Option<StreamKey>)> {
    let key_bytes = usize::from(key_bytes(key_size));
    let keys = kek.decrypt_wrapped_keys(&key_material.wrapped_keys).ok()?;
    let key = |bytes: &[u8]| EncryptionKey::try_from(bytes).ok().map(StreamKey::new);
    let even = if key_material.key_flags.contains(KeyFlags::EVEN) {
        Some(key(keys.get(..key_bytes)?)?)
    } else {
        None
    };
    let odd = if key_material.key_flags.contains(KeyFlags::ODD) {
        Some(key(keys.get(keys.len().checked_sub(key_bytes)?..)?)?)
    } else {
        None
    };
    Some((even, odd))
}

/// `packet` with its payload decrypted in place (copied first only if it is shared), or why the
/// connection cannot go on: encryption on one side only, or no key for the packet's parity.
pub(crate) fn decrypt(
    keys: Option<&StreamCipher>,
    mut packet: DataPacket,
) -> Result<DataPacket, &'static str> {
    match (packet.encryption, keys) {
        (DataEncryption::None, None) => Ok(packet),
        (DataEncryption::None, Some(_)) => {
            Err("the peer sends plaintext data but a passphrase is set here")
        }
        (DataEncryption::Even | DataEncryption::Odd, None) => {
            Err("the peer sends encrypted data but no passphrase is set here")
        }
        (parity, Some(keys)) => {
            let mut payload = std::mem::take(&mut packet.payload)
                .try_into_mut()
                .unwrap_or_else(|shared| BytesMut::from(&shared[..]));
            if !keys.apply(parity, packet.seq_number, &mut payload) {
                return Err("data from the peer does not decrypt (no key for its parity)");
            }
            packet.payload = payload.freeze();
            packet.encryption = DataEncryption::None;
            Ok(packet)
        }
    }
}

/// The sender's keys and refresh schedule (see the module docs).
#[derive(Debug)]
pub(crate) struct SendKeys {
    cipher: StreamCipher,
    active: DataEncryption,
    until_announcement: usize,
    until_repeat: usize,
    until_switch: usize,
    /// The announced key material the peer has not answered yet.
    announced: Option<KeyingMaterialMessage>,
}

impl SendKeys {
    pub(crate) fn new(cipher: StreamCipher) -> Self {
        let period = cipher.key_refresh.period();
        let pre_announcement = cipher.key_refresh.pre_announcement_period();
        Self {
            active: cipher.first_parity(),
            until_announcement: period.saturating_sub(pre_announcement),
            until_repeat: 0,
            until_switch: period,
            announced: None,
            cipher,
        }
    }

    /// Encrypts the next packet's payload in place; returns its key's parity and the key
    /// announcement to send now, if any; `None` (and `data` unchanged) without an active key.
    pub(crate) fn encrypt(
        &mut self,
        seq: SeqNumber,
        data: &mut [u8],
    ) -> Option<(DataEncryption, Option<KeyingMaterialMessage>)> {
        let parity = self.active;
        if !self.cipher.apply(parity, seq, data) {
            return None;
        }
        let period = self.cipher.key_refresh.period();
        if self.until_announcement == 0 {
            self.until_announcement = period;
            self.until_repeat = 0;
            if self.announced.is_none() {
                self.announced = self.cipher.commission_next_key(self.active);
            }
        }
        if self.until_switch == 0 {
            self.until_switch = period;
            // Only once the peer has the new key.
            if self.announced.is_none() {
                self.active = match self.active {
                    DataEncryption::Even => DataEncryption::Odd,
                    DataEncryption::Odd => DataEncryption::Even,
                    DataEncryption::None => DataEncryption::None,
                };
            }
        }
        let announcement = match &self.announced {
            Some(key_material) if self.until_repeat == 0 => {
                self.until_repeat = self
                    .cipher
                    .key_refresh
                    .pre_announcement_period()
                    .min(ANNOUNCEMENT_REPEAT);
                Some(key_material.clone())
            }
            Some(_) => {
                self.until_repeat -= 1;
                None
            }
            None => None,
        };
        self.until_announcement = self.until_announcement.saturating_sub(1);
        self.until_switch = self.until_switch.saturating_sub(1);
        Some((parity, announcement))
    }

    /// The peer's answer to our announcement; false when it is not what we announced.
    pub(crate) fn on_refresh_response(&mut self, key_material: &KeyingMaterialMessage) -> bool {
        if self.announced.as_ref() == Some(key_material) {
            self.announced = None;
            self.until_repeat = 0;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::panic)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use srt_protocol::packet::{MsgNumber, PacketLocation, SocketId, TimeStamp};
    use srt_protocol::protocol::encryption::{Decryption, Encryption};

    fn settings(key_size: KeySize) -> KeySettings {
        KeySettings {
            key_size,
            passphrase: "correct horse battery".into(),
        }
    }

    fn packet(seq: u32, encryption: DataEncryption, payload: &[u8]) -> DataPacket {
        DataPacket {
            seq_number: SeqNumber::new_truncate(seq),
            message_loc: PacketLocation::ONLY,
            in_order_delivery: true,
            encryption,
            retransmitted: false,
            message_number: MsgNumber::new_truncate(1),
            timestamp: TimeStamp::from_micros(0),
            dest_sockid: SocketId(1),
            payload: Bytes::copy_from_slice(payload),
        }
    }

    fn payload(seed: u32, len: usize) -> Vec<u8> {
        (0..len).map(|i| (i as u32 * 31 + seed) as u8).collect()
    }

    /// srt-protocol's decryption, from the key material `cipher` sends.
    fn srt_protocol_decryption(cipher: &StreamCipher) -> Decryption {
        let km = cipher.key_material().unwrap();
        let settings = CipherSettings::new(
            cipher.key_settings(),
            &KeyMaterialRefreshSettings::default(),
            &km,
        )
        .unwrap();
        Decryption::new(Some(settings))
    }

    #[test]
    fn what_tmio_encrypts_srt_protocol_decrypts_for_every_key_size_and_parity() {
        for key_size in [KeySize::AES128, KeySize::AES192, KeySize::AES256] {
            let cipher = StreamCipher::new_random(&settings(key_size));
            assert_eq!(cipher.key_bytes(), usize::from(key_bytes(key_size)));
            let decryption = srt_protocol_decryption(&cipher);
            for (seq, parity) in [
                (0, DataEncryption::Even),
                (1, DataEncryption::Odd),
                (0x7fff_fffe, DataEncryption::Even),
            ] {
                // Lengths around the 16-byte block and the 8-block batches of the AES back end.
                for len in [1, 15, 16, 17, 127, 128, 129, 1316, 1456] {
                    let plain = payload(seq, len);
                    let mut data = plain.clone();
                    assert!(cipher.apply(parity, SeqNumber::new_truncate(seq), &mut data));
                    assert_ne!(data, plain, "{key_size:?} {len}");
                    let (_, decrypted) = decryption.decrypt(packet(seq, parity, &data)).unwrap();
                    assert_eq!(&decrypted.payload[..], &plain[..], "{key_size:?} {len}");
                }
            }
        }
    }

    #[test]
    fn what_srt_protocol_encrypts_tmio_decrypts() {
        let settings = CipherSettings::new_random(
            &settings(KeySize::AES256),
            &KeyMaterialRefreshSettings::default(),
        );
        let km = settings.wrap_keying_material().unwrap();
        let cipher = StreamCipher::unwrap(&settings.key_settings.passphrase, &km).unwrap();
        let mut encryption = Encryption::new(Some(settings));
        for seq in [5, 6, 1 << 30] {
            assert_tmio_decrypts(&mut encryption, &cipher, seq, 1456);
        }
    }

    /// srt-protocol's `encryption` encrypts packet `seq` of `len` bytes; `cipher` gives back the
    /// plaintext.
    fn assert_tmio_decrypts(
        encryption: &mut Encryption,
        cipher: &StreamCipher,
        seq: u32,
        len: usize,
    ) {
        let plain = payload(seq, len);
        let (_, encrypted, _) = encryption
            .encrypt(packet(seq, DataEncryption::None, &plain))
            .unwrap();
        let mut data = encrypted.payload.to_vec();
        assert!(cipher.apply(encrypted.encryption, encrypted.seq_number, &mut data));
        assert_eq!(data, plain);
    }

    #[test]
    fn srt_protocol_cipher_settings_become_the_same_keys() {
        let settings = CipherSettings::new_random(
            &settings(KeySize::AES192),
            &KeyMaterialRefreshSettings::new(1000, 100).unwrap(),
        );
        let cipher = StreamCipher::from_srt_protocol(&settings).unwrap();
        assert_eq!(cipher.key_refresh().period(), 1000);
        assert_eq!(cipher.key_bytes(), 24);
        let mut encryption = Encryption::new(Some(settings));
        assert_tmio_decrypts(&mut encryption, &cipher, 9, 1316);
    }

    #[test]
    fn another_passphrase_or_a_malformed_key_material_does_not_unwrap() {
        let cipher = StreamCipher::new_random(&settings(KeySize::AES128));
        let km = cipher.key_material().unwrap();
        assert!(StreamCipher::unwrap(&"another passphrase".into(), &km).is_none());
        let mut short_salt = km.clone();
        short_salt.salt.truncate(8);
        assert!(StreamCipher::unwrap(&settings(KeySize::AES128).passphrase, &short_salt).is_none());
        for len in [0, 7, 8, 9, 39] {
            let mut wrapped = km.clone();
            wrapped.wrapped_keys.resize(len, 0);
            assert!(
                StreamCipher::unwrap(&settings(KeySize::AES128).passphrase, &wrapped).is_none(),
                "{len} wrapped bytes"
            );
        }
        let mut no_keys = km.clone();
        no_keys.key_flags = KeyFlags::empty();
        assert!(StreamCipher::unwrap(&settings(KeySize::AES128).passphrase, &no_keys).is_none());
        let back = StreamCipher::unwrap(&settings(KeySize::AES128).passphrase, &km).unwrap();
        assert_eq!(back.key_material(), Some(km));
    }

    #[test]
    fn a_key_without_the_parity_does_not_apply() {
        let mut cipher = StreamCipher::new_random(&settings(KeySize::AES128));
        cipher.odd = None;
        let mut data = vec![7; 10];
        assert!(!cipher.apply(DataEncryption::Odd, SeqNumber::new_truncate(1), &mut data));
        assert!(!cipher.apply(DataEncryption::None, SeqNumber::new_truncate(1), &mut data));
        assert_eq!(data, vec![7; 10]);
        assert_eq!(
            cipher.key_material().unwrap().key_flags,
            KeyFlags::EVEN,
            "only the key it has"
        );
    }

    /// Runs `packets` packets through a sender with a short refresh schedule and a receiver
    /// that answers every announcement at once; returns the parities used and when it announced.
    fn refresh_run(packets: u32) -> (Vec<DataEncryption>, Vec<u32>) {
        let refresh = KeyMaterialRefreshSettings::new(100, 20).unwrap();
        let cipher = StreamCipher::new_random(&settings(KeySize::AES128)).with_key_refresh(refresh);
        let mut receiver = cipher.clone();
        let mut sender = SendKeys::new(cipher);
        let (mut parities, mut announced_at) = (Vec::new(), Vec::new());
        for seq in 0..packets {
            let plain = payload(seq, 100);
            let mut data = plain.clone();
            let (parity, announcement) = sender
                .encrypt(SeqNumber::new_truncate(seq), &mut data)
                .unwrap();
            if let Some(km) = announcement {
                announced_at.push(seq);
                assert!(receiver.refresh_from(&km));
                assert!(sender.on_refresh_response(&km));
            }
            assert!(receiver.apply(parity, SeqNumber::new_truncate(seq), &mut data));
            assert_eq!(data, plain, "packet {seq}");
            parities.push(parity);
        }
        (parities, announced_at)
    }

    #[test]
    fn the_sender_announces_a_new_key_and_switches_once_the_peer_answered() {
        let (parities, announced_at) = refresh_run(350);
        // Announced 20 packets before each switch (after packet 80's encryption); the switch
        // takes effect after every 100th packet.
        assert_eq!(announced_at, vec![80, 180, 280]);
        assert!(parities[..=100].iter().all(|p| *p == DataEncryption::Even));
        assert!(parities[101..=200]
            .iter()
            .all(|p| *p == DataEncryption::Odd));
        assert!(parities[201..=300]
            .iter()
            .all(|p| *p == DataEncryption::Even));
        assert!(parities[301..].iter().all(|p| *p == DataEncryption::Odd));
    }

    #[test]
    fn an_unanswered_announcement_is_repeated_and_the_key_kept() {
        let refresh = KeyMaterialRefreshSettings::new(100, 20).unwrap();
        let cipher = StreamCipher::new_random(&settings(KeySize::AES128)).with_key_refresh(refresh);
        let mut sender = SendKeys::new(cipher);
        let mut announced_at = Vec::new();
        let mut parities = Vec::new();
        for seq in 0..150 {
            let (parity, announcement) = sender
                .encrypt(SeqNumber::new_truncate(seq), &mut [0; 4])
                .unwrap();
            parities.push(parity);
            if announcement.is_some() {
                announced_at.push(seq);
            }
        }
        assert_eq!(announced_at, vec![80, 101, 122, 143]);
        assert!(parities.iter().all(|p| *p == DataEncryption::Even));
        assert!(!sender.on_refresh_response(
            &StreamCipher::new_random(&settings(KeySize::AES128))
                .key_material()
                .unwrap()
        ));
    }

    #[test]
    fn a_refresh_with_another_key_size_or_passphrase_changes_nothing() {
        let mut cipher = StreamCipher::new_random(&settings(KeySize::AES128));
        let before = cipher.key_material();
        let other_size = StreamCipher::new_random(&settings(KeySize::AES256));
        assert!(!cipher.refresh_from(&other_size.key_material().unwrap()));
        let mut other_passphrase = settings(KeySize::AES128);
        other_passphrase.passphrase = "not the same one".into();
        let other = StreamCipher::new_random(&other_passphrase);
        assert!(!cipher.refresh_from(&other.key_material().unwrap()));
        assert_eq!(cipher.key_material(), before);
        // A new salt derives the KEK again.
        let renewed = StreamCipher::new_random(&settings(KeySize::AES128));
        assert!(cipher.refresh_from(&renewed.key_material().unwrap()));
        assert_eq!(cipher.key_material(), renewed.key_material());
    }
}
