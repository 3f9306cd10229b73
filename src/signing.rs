//! OpenPGP signing keys, loaded once for every artifact that is signed (the .rpm's header
//! signature; repository metadata later), with the `pgp` crate: an armored secret key from a
//! file or an environment variable, unlocked with a passphrase from an environment variable,
//! checked when it is loaded (before anything is built) and used for OpenPGP v4 signatures with
//! SHA-256. RSA (PKCS#1 v1.5) and Ed25519 signatures are deterministic: with the creation time
//! fixed to the source date, the same input gives the same signature.

use std::path::PathBuf;

use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey, SignedSecretKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::crypto::public_key::PublicKeyAlgorithm;
use pgp::packet::{PacketTrait, SignatureConfig, SignatureType, Subpacket, SubpacketData};
use pgp::types::{KeyDetails, Password, Timestamp};

use crate::error::{Error, Result};

/// The environment variable holding the passphrase, unless the manifest names another.
pub const PASSPHRASE_ENV: &str = "WRAP_SIGN_PASSPHRASE";

/// Where a secret key comes from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum KeySource {
    /// An armored (or binary) secret key in a file.
    File(PathBuf),
    /// An armored secret key in an environment variable.
    Env(String),
}

impl std::fmt::Display for KeySource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeySource::File(path) => write!(f, "`{}`", path.display()),
            KeySource::Env(name) => write!(f, "in ${name}"),
        }
    }
}

/// A secret key, unlocked: what signs.
pub struct Signer {
    key: SignedSecretKey,
    password: Password,
    /// The key's fingerprint, upper-case hex.
    pub fingerprint: String,
    /// The key's 64-bit id, upper-case hex (what `rpm -K` and `gpg` show).
    pub key_id: String,
    /// Its algorithm as people name it: `RSA`, `Ed25519`.
    pub algorithm: &'static str,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer").field("fingerprint", &self.fingerprint).finish_non_exhaustive()
    }
}

/// What a signature says of itself.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct SignatureInfo {
    /// The signing key's id, upper-case hex.
    pub key_id: String,
    /// Its fingerprint, when the signature names it.
    pub fingerprint: Option<String>,
    /// The public-key algorithm: `RSA`, `Ed25519`.
    pub algorithm: String,
    /// The hash algorithm: `SHA256`.
    pub hash: String,
    /// When it was made, in seconds since the epoch.
    pub created: Option<u32>,
}

fn algorithm_name(algorithm: PublicKeyAlgorithm) -> Option<&'static str> {
    match algorithm {
        PublicKeyAlgorithm::RSA => Some("RSA"),
        PublicKeyAlgorithm::EdDSALegacy | PublicKeyAlgorithm::Ed25519 => Some("Ed25519"),
        _ => None,
    }
}

impl Signer {
    /// Loads the secret key from `source`, unlocks it with the passphrase in `$passphrase_env`
    /// (none when unset) and signs a probe, so that a wrong passphrase fails now.
    pub fn load(source: &KeySource, passphrase_env: &str) -> Result<Signer> {
        let fail = |problem: String, hint: Option<String>| Error::SigningKey {
            source_name: source.to_string(),
            problem,
            hint,
        };
        let bytes = match source {
            KeySource::File(path) => {
                std::fs::read(path).map_err(|e| fail(format!("cannot be read: {e}"), None))?
            }
            KeySource::Env(name) => match std::env::var(name) {
                Ok(text) if !text.trim().is_empty() => text.into_bytes(),
                _ => {
                    return Err(fail(
                        "the variable is unset or empty".into(),
                        Some(format!("put the armored secret key in ${name}")),
                    ));
                }
            },
        };
        let key = parse_secret(&bytes).map_err(|public| {
            if public {
                fail(
                    "it holds a public key, and signing needs the secret key".into(),
                    Some("export the secret key: `gpg --export-secret-keys --armor KEYID`".into()),
                )
            } else {
                fail("it holds no OpenPGP secret key".into(), None)
            }
        })?;
        let primary = &key.primary_key;
        let Some(algorithm) = algorithm_name(primary.algorithm()) else {
            return Err(fail(
                format!("its algorithm {:?} is not one wrap signs with", primary.algorithm()),
                Some("use an RSA or Ed25519 key".into()),
            ));
        };
        let password = Password::from(std::env::var(passphrase_env).unwrap_or_default());
        let signer = Signer {
            fingerprint: format!("{:X}", primary.fingerprint()),
            key_id: key_hex(&primary.legacy_key_id()),
            algorithm,
            key,
            password,
        };
        signer.sign(b"wrap", 0).map_err(|_| {
            fail(
                format!("it cannot be unlocked with the passphrase in ${passphrase_env}"),
                Some(format!("set ${passphrase_env} to the key's passphrase")),
            )
        })?;
        Ok(signer)
    }

    /// An OpenPGP v4 binary-document signature of `data` with SHA-256, made at `created`
    /// (seconds since the epoch), as a packet with its header: what rpm stores in a header.
    pub fn sign(&self, data: &[u8], created: u32) -> Result<Vec<u8>> {
        let config = self.config(SignatureType::Binary, created)?;
        let signature =
            config.sign(&self.key.primary_key, &self.password, data).map_err(|e| self.failed(e))?;
        let mut out = Vec::new();
        signature.to_writer_with_header(&mut out).map_err(|e| self.failed(e))?;
        Ok(out)
    }

    /// An armored detached signature of `data` (binary document, SHA-256), made at `created`:
    /// what apt reads as `Release.gpg` and dnf as `repomd.xml.asc`.
    pub fn sign_armored(&self, data: &[u8], created: u32) -> Result<String> {
        let config = self.config(SignatureType::Binary, created)?;
        let signature =
            config.sign(&self.key.primary_key, &self.password, data).map_err(|e| self.failed(e))?;
        DetachedSignature::new(signature).to_armored_string(Default::default()).map_err(|e| self.failed(e))
    }

    /// `text` clear-signed (a text-document signature, SHA-256, made at `created`): what apt
    /// reads as `InRelease`.
    pub fn clearsign(&self, text: &str, created: u32) -> Result<String> {
        let config = self.config(SignatureType::Text, created)?;
        pgp::composed::CleartextSignedMessage::new(text, config, &self.key.primary_key, &self.password)
            .and_then(|m| m.to_armored_string(Default::default()))
            .map_err(|e| self.failed(e))
    }

    /// Whether `packet` (a signature packet, as [`Signer::sign`] makes) is this key's valid
    /// signature of `data`.
    pub fn verifies(&self, packet: &[u8], data: &[u8]) -> bool {
        let Ok(signature) = DetachedSignature::from_bytes(packet) else { return false };
        signature.verify(&self.key.to_public_key().primary_key, data).is_ok()
    }

    /// The public key, binary (what apt's `Signed-By` keyring file holds).
    pub fn public_key_binary(&self) -> Result<Vec<u8>> {
        use pgp::ser::Serialize as _;
        self.key.to_public_key().to_bytes().map_err(|e| self.failed(e))
    }

    /// An OpenPGP v4 signature configuration of type `typ`, SHA-256, made at `created` or when
    /// the key was made, whichever is later (gpg, and so dnf, refuse a signature older than its
    /// key: "Time conflict"), naming the key by fingerprint (hashed) and id (unhashed).
    fn config(&self, typ: SignatureType, created: u32) -> Result<SignatureConfig> {
        let primary = &self.key.primary_key;
        let created = created.max(primary.created_at().as_secs());
        let sub = |data| Subpacket::regular(data).map_err(|e| self.failed(e));
        let mut config = SignatureConfig::v4(typ, primary.algorithm(), HashAlgorithm::Sha256);
        config.hashed_subpackets = vec![
            sub(SubpacketData::SignatureCreationTime(Timestamp::from_secs(created)))?,
            sub(SubpacketData::IssuerFingerprint(primary.fingerprint()))?,
        ];
        config.unhashed_subpackets = vec![sub(SubpacketData::IssuerKeyId(primary.legacy_key_id()))?];
        Ok(config)
    }

    fn failed(&self, e: pgp::errors::Error) -> Error {
        Error::SigningKey {
            source_name: self.key_id.clone(),
            problem: format!("signing failed: {e}"),
            hint: None,
        }
    }

    /// The public key, armored (for `rpm --import`, a repository's key file).
    pub fn public_key_armored(&self) -> Result<String> {
        let public: SignedPublicKey = self.key.to_public_key();
        public.to_armored_string(Default::default()).map_err(|e| Error::SigningKey {
            source_name: self.key_id.clone(),
            problem: format!("cannot export the public key: {e}"),
            hint: None,
        })
    }
}

/// The secret key in `bytes` (armored or binary); `Err(true)` when they hold a public key.
fn parse_secret(bytes: &[u8]) -> std::result::Result<SignedSecretKey, bool> {
    let armored = bytes.trim_ascii_start().starts_with(b"-----BEGIN");
    let secret = if armored {
        SignedSecretKey::from_armor_single(bytes).map(|(k, _)| k)
    } else {
        SignedSecretKey::from_bytes(bytes)
    };
    if let Ok(key) = secret {
        return Ok(key);
    }
    let public = if armored {
        SignedPublicKey::from_armor_single(bytes).map(|_| ())
    } else {
        SignedPublicKey::from_bytes(bytes).map(|_| ())
    };
    Err(public.is_ok())
}

/// A key id as upper-case hex.
fn key_hex(id: &pgp::types::KeyId) -> String {
    hex::encode_upper(id.as_ref())
}

/// What the signature packet `packet` says of itself; `None` when it is not one.
pub fn describe(packet: &[u8]) -> Option<SignatureInfo> {
    let signature = DetachedSignature::from_bytes(packet).ok()?.signature;
    let config = signature.config()?;
    Some(SignatureInfo {
        key_id: signature.issuer_key_id().first().map(|id| key_hex(id)).unwrap_or_default(),
        fingerprint: signature.issuer_fingerprint().first().map(|f| format!("{f:X}")),
        algorithm: algorithm_name(config.pub_alg)
            .map_or_else(|| format!("{:?}", config.pub_alg), str::to_string),
        hash: format!("{:?}", config.hash_alg).to_uppercase(),
        created: signature.created().map(|t| t.as_secs()),
    })
}
