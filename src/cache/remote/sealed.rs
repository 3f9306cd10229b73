//! Objects that read back whole or not at all: one header line `<format> <name> <sha256 of the
//! body> <signature>` (the signature `-` when the remote has no secret), then the body. A reader
//! checks that the object is about the name it asked for, that the body is the one the header
//! hashed, and, when a secret is set, that the writer held it. Bytecode packs ([`super::pycs`])
//! and wheels built from sdists ([`super::wheels`]) are kept this way: code that runs on the
//! target, trusted exactly as a record is.

use super::Remote;
use crate::digest::sha256_hex;

impl Remote {
    /// `body` sealed as the object `name` of `format` (`wrap pycs 1`).
    pub(super) fn seal(&self, format: &str, name: &str, body: &[u8]) -> Vec<u8> {
        let signature = self.sign_sealed(format, name, body).unwrap_or_else(|| "-".into());
        let mut out = format!("{format} {name} {} {signature}\n", sha256_hex(body)).into_bytes();
        out.extend_from_slice(body);
        out
    }

    /// The body of the sealed object `bytes`, checked: of `format`, about `name`, whole, signed
    /// when a secret is set. `what` names the object in the reason it is refused.
    pub(super) fn unseal<'b>(
        &self,
        format: &str,
        name: &str,
        what: &str,
        bytes: &'b [u8],
    ) -> Result<&'b [u8], String> {
        let foreign = || format!("its {what} is not one wrap wrote");
        let end = bytes.iter().position(|b| *b == b'\n').ok_or_else(foreign)?;
        let header = String::from_utf8_lossy(&bytes[..end]).into_owned();
        let body = &bytes[end + 1..];
        let fields: Vec<&str> =
            header.strip_prefix(&format!("{format} ")).ok_or_else(foreign)?.split(' ').collect();
        let [named, sha256, signature] = fields[..] else { return Err(foreign()) };
        if named != name {
            return Err(format!("its {what} names another object"));
        }
        let short: String = name.chars().take(12).collect();
        if sha256_hex(body) != sha256 {
            return Err(format!("its {what} {short} is damaged"));
        }
        if self.signed() && self.sign_sealed(format, name, body).as_deref() != Some(signature) {
            return Err(format!("its {what} {short} is unsigned or its signature does not match"));
        }
        Ok(body)
    }

    fn sign_sealed(&self, format: &str, name: &str, body: &[u8]) -> Option<String> {
        let mut signed = format!("{format} {name}\n").into_bytes();
        signed.extend_from_slice(body);
        self.sign(&signed)
    }
}
