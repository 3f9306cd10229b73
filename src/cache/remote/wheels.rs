//! Wheels built from sdists on the remote: one object per build (`wheels/<key>`, the key a
//! digest of everything that makes the wheel's bytes: [`crate::venv::built`]), its body the
//! wheel's file name on one line and then its bytes, sealed ([`super::sealed`]): a runner with
//! an empty cache installs the wheel another one compiled instead of compiling it again.

use super::{Remote, RemoteFailure};

const MAGIC: &str = "wrap wheel 1";

fn path(key: &str) -> String {
    format!("wheels/{key}")
}

/// A wheel as the remote keeps it: its file name and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wheel {
    /// `python_ldap-3.4.8-cp311-cp311-linux_x86_64.whl`
    pub name: String,
    /// The file.
    pub bytes: Vec<u8>,
}

/// Whether `name` can be a wheel's file name in a directory: one plain component, `.whl`.
pub fn plain_wheel_name(name: &str) -> bool {
    name.ends_with(".whl")
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.+!".contains(c))
}

impl Remote {
    /// The wheel built under `key`, `Ok(Err(why))` when it is refused (damaged, about another
    /// key, unsigned or badly signed while a secret is set, not a wheel's name).
    pub fn wheel(&self, key: &str) -> Result<Result<Option<Wheel>, String>, RemoteFailure> {
        let Some(bytes) = self.get(&path(key))? else { return Ok(Ok(None)) };
        let body = match self.unseal(MAGIC, key, "built wheel", &bytes) {
            Ok(body) => body,
            Err(why) => return Ok(Err(why)),
        };
        let damaged = || format!("its built wheel {} is damaged", &key[..12]);
        let Some(end) = body.iter().position(|b| *b == b'\n') else { return Ok(Err(damaged())) };
        let name = String::from_utf8_lossy(&body[..end]).into_owned();
        if !plain_wheel_name(&name) {
            return Ok(Err(damaged()));
        }
        Ok(Ok(Some(Wheel { name, bytes: body[end + 1..].to_vec() })))
    }

    /// Uploads `wheel` under `key`; one already there is kept unless `replace` (it was refused).
    pub fn put_wheel(&self, key: &str, wheel: &Wheel, replace: bool) -> Result<(), RemoteFailure> {
        let mut body = format!("{}\n", wheel.name).into_bytes();
        body.extend_from_slice(&wheel.bytes);
        self.put(&path(key), self.seal(MAGIC, key, &body), !replace)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wheel_reads_back_whole_or_not_at_all() {
        let dir = tempfile::tempdir().unwrap();
        let remote = Remote::open(&format!("file://{}", dir.path().display()), false).unwrap();
        let key = "d".repeat(64);
        let wheel = Wheel { name: "chant-1.0-py3-none-any.whl".into(), bytes: b"PK\x03\x04 zip".to_vec() };
        assert_eq!(remote.wheel(&key).unwrap(), Ok(None));
        remote.put_wheel(&key, &wheel, false).unwrap();
        assert_eq!(remote.wheel(&key).unwrap(), Ok(Some(wheel.clone())));
        let object = dir.path().join("wheels").join(&key);
        let mut bytes = std::fs::read(&object).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        std::fs::write(&object, &bytes).unwrap();
        let refused = remote.wheel(&key).unwrap().unwrap_err();
        assert!(refused.contains("is damaged"), "{refused}");
        // A name that would leave the directory it is written to is refused, signed or not.
        let evil = Wheel { name: "../x.whl".into(), ..wheel.clone() };
        remote.put_wheel(&key, &evil, true).unwrap();
        assert!(remote.wheel(&key).unwrap().unwrap_err().contains("is damaged"));
        assert!(plain_wheel_name("python_ldap-3.4.8-cp311-cp311-linux_x86_64.whl"));
        assert!(!plain_wheel_name("a b.whl") && !plain_wheel_name("x.tar.gz") && !plain_wheel_name(".whl"));
    }
}
