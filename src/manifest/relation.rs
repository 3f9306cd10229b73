//! Package relations as the manifest writes them (`system_dependencies`, `recommends`,
//! `provides`, `conflicts`, `replaces`): Debian dependency expressions, parsed when the
//! manifest is read so that no text reaches a control file or an RPM header unchecked, and
//! rendered for each format. `[project.rpm] system_dependencies` are RPM expressions.

use std::fmt;

/// A version comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<<` (RPM `<`).
    Less,
    /// `<=`.
    LessEq,
    /// `=`.
    Eq,
    /// `>=`.
    GreaterEq,
    /// `>>` (RPM `>`).
    Greater,
}

impl Op {
    fn parse_deb(text: &str) -> Option<Op> {
        Some(match text {
            "<<" => Op::Less,
            "<=" => Op::LessEq,
            "=" => Op::Eq,
            ">=" => Op::GreaterEq,
            ">>" => Op::Greater,
            _ => return None,
        })
    }

    fn parse_rpm(text: &str) -> Option<Op> {
        Some(match text {
            "<" => Op::Less,
            "<=" => Op::LessEq,
            "=" => Op::Eq,
            ">=" => Op::GreaterEq,
            ">" => Op::Greater,
            _ => return None,
        })
    }

    fn deb(self) -> &'static str {
        match self {
            Op::Less => "<<",
            Op::LessEq => "<=",
            Op::Eq => "=",
            Op::GreaterEq => ">=",
            Op::Greater => ">>",
        }
    }

    fn rpm(self) -> &'static str {
        match self {
            Op::Less => "<",
            Op::LessEq => "<=",
            Op::Eq => "=",
            Op::GreaterEq => ">=",
            Op::Greater => ">",
        }
    }
}

/// One package, optionally with an architecture qualifier and a version constraint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// Package (or, for RPM, capability) name.
    pub name: String,
    /// Debian architecture qualifier (`:any`).
    pub arch: Option<String>,
    /// Version constraint.
    pub version: Option<(Op, String)>,
}

/// A relation: one clause, or alternatives (`a | b`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relation(pub Vec<Clause>);

impl Relation {
    /// Parses a Debian relation: `libvirt0`, `python3 (>= 3.11)`, `libldap-2.5-0 | libldap2`.
    pub fn parse_deb(text: &str) -> Result<Relation, String> {
        one_line(text)?;
        let mut clauses = Vec::new();
        for alternative in text.split('|') {
            let alternative = alternative.trim();
            let (head, version) = match alternative.split_once('(') {
                Some((head, rest)) => {
                    let inner = rest
                        .strip_suffix(')')
                        .ok_or_else(|| format!("`{alternative}` has a `(` without its closing `)`"))?;
                    let inner = inner.trim();
                    let split = inner.find(|c: char| !"<>=".contains(c)).unwrap_or(inner.len());
                    let op = Op::parse_deb(&inner[..split]).ok_or_else(|| {
                        format!("`{inner}` does not start with one of `<<`, `<=`, `=`, `>=`, `>>`")
                    })?;
                    let version = inner[split..].trim();
                    check_version(
                        version,
                        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz.+~:-",
                    )?;
                    (head.trim(), Some((op, version.to_string())))
                }
                None => (alternative, None),
            };
            let (name, arch) = match head.split_once(':') {
                Some((name, arch)) => (name, Some(arch)),
                None => (head, None),
            };
            let name_ok = name.len() >= 2
                && name.len() <= 200
                && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+.-".contains(c));
            if !name_ok {
                return Err(format!(
                    "`{name}` is not a Debian package name (lowercase letters, digits and `+ . -`, at least two)"
                ));
            }
            if let Some(arch) = arch
                && (arch.is_empty()
                    || !arch.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'))
            {
                return Err(format!("`{arch}` is not an architecture qualifier"));
            }
            clauses.push(Clause { name: name.into(), arch: arch.map(str::to_string), version });
        }
        Ok(Relation(clauses))
    }

    /// Parses an RPM dependency: `libvirt-libs`, `openldap >= 2.4`, `/usr/bin/qemu-img`,
    /// `perl(Net::LDAP)`.
    pub fn parse_rpm(text: &str) -> Result<Relation, String> {
        one_line(text)?;
        let words: Vec<&str> = text.split_whitespace().collect();
        let (name, version) = match words.as_slice() {
            [name] => (*name, None),
            [name, op, version] => {
                let op = Op::parse_rpm(op)
                    .ok_or_else(|| format!("`{op}` is not one of `<`, `<=`, `=`, `>=`, `>`"))?;
                check_version(
                    version,
                    "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz._+~^:-",
                )?;
                (*name, Some((op, version.to_string())))
            }
            _ => return Err("write `NAME` or `NAME OP VERSION`".into()),
        };
        let name_ok = !name.is_empty()
            && name.len() <= 200
            && !name.starts_with('-')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || "._+/():-".contains(c));
        if !name_ok {
            return Err(format!("`{name}` is not an RPM package or capability name"));
        }
        Ok(Relation(vec![Clause { name: name.into(), arch: None, version }]))
    }

    /// As a Debian control file writes it.
    pub fn deb(&self) -> String {
        let clause = |c: &Clause| {
            let mut out = c.name.clone();
            if let Some(arch) = &c.arch {
                out.push(':');
                out.push_str(arch);
            }
            if let Some((op, v)) = &c.version {
                out.push_str(&format!(" ({} {v})", op.deb()));
            }
            out
        };
        self.0.iter().map(clause).collect::<Vec<_>>().join(" | ")
    }

    /// As an RPM header writes it: alternatives become a rich dependency (`(a or b)`, which rpm
    /// reads since 4.13); architecture qualifiers have no RPM form and are dropped.
    pub fn rpm(&self) -> String {
        let clause = |c: &Clause| match &c.version {
            Some((op, v)) => format!("{} {} {v}", c.name, op.rpm()),
            None => c.name.clone(),
        };
        match self.0.as_slice() {
            [one] => clause(one),
            many => format!("({})", many.iter().map(clause).collect::<Vec<_>>().join(" or ")),
        }
    }
}

/// In a plan, a relation is written as Debian writes it.
impl serde::Serialize for Relation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.deb())
    }
}

/// In the events' schema, a relation is the string it serializes to.
impl schemars::JsonSchema for Relation {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Relation".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A relation as Debian writes it: `python3 (>= 3.11)`, `a | b`"
        })
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.deb())
    }
}

/// A relation is written on one line: a control character would start a new field.
fn one_line(text: &str) -> Result<(), String> {
    match text.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!("it holds the control character U+{:04X}", c as u32)),
        None => Ok(()),
    }
}

fn check_version(version: &str, allowed: &str) -> Result<(), String> {
    let ok = !version.is_empty()
        && version.len() <= 100
        && version.starts_with(|c: char| c.is_ascii_digit())
        && version.chars().all(|c| allowed.contains(c));
    if ok { Ok(()) } else { Err(format!("`{version}` is not a version")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debian_relations_parse_and_render() {
        let r = Relation::parse_deb("libldap-2.5-0 | libldap2").unwrap();
        assert_eq!(r.deb(), "libldap-2.5-0 | libldap2");
        assert_eq!(r.rpm(), "(libldap-2.5-0 or libldap2)");
        let r = Relation::parse_deb("python3:any (>= 3.11~)").unwrap();
        assert_eq!(r.deb(), "python3:any (>= 3.11~)");
        assert_eq!(r.rpm(), "python3 >= 3.11~");
        assert_eq!(Relation::parse_deb("jq ( << 1:2.0-1 )").unwrap().deb(), "jq (<< 1:2.0-1)");
    }

    #[test]
    fn hostile_relations_are_refused() {
        for bad in [
            "jq\nEssential: yes",
            "jq, curl",
            "jq (>= 1.0",
            "jq (~ 1.0)",
            "jq (>= 1.0\nPre-Depends: x)",
            "Jq",
            "j",
            "",
            "jq:a$b",
            "$(touch /tmp/pwned)",
            "jq\n",
            "jq\r",
        ] {
            assert!(Relation::parse_deb(bad).is_err(), "{bad:?}");
        }
        for bad in ["a b", "libvirt\n", "x >> 1", "-x", "a >= 1;reboot", "a >= $(x)"] {
            assert!(Relation::parse_rpm(bad).is_err(), "{bad:?}");
        }
        assert_eq!(Relation::parse_rpm("perl(Net::LDAP) >= 0.6").unwrap().rpm(), "perl(Net::LDAP) >= 0.6");
    }
}
