//! The tenant's directory, as `calibrate --directory` reads it: which groups and directory
//! roles each user belongs to, from Microsoft Graph's `GET /users?$expand=memberOf`
//! (list pages, a JSON array of users, or one user per line). Sign-in logs do not carry
//! memberships, so without it policies that target roles or groups apply to nobody in a
//! fitted population.
//!
//! Only ids are kept: a user's key (the same 64-bit hash of the UPN, or of the object id,
//! as the sign-in log readers make), group object ids and role template ids. Names,
//! display names and every other attribute are dropped as they are read.

use std::collections::HashMap;
use std::path::Path;

use serde_json::Value;

use crate::calibrate::log_reader::user_key;
use crate::error::{read_text, InputError};

/// One user's memberships, ids only, sorted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Membership {
    /// Group object ids (`#microsoft.graph.group`).
    pub groups: Vec<String>,
    /// Role template ids (`#microsoft.graph.directoryRole`'s `roleTemplateId`, else its
    /// id): what Conditional Access's `includeRoles` names.
    pub roles: Vec<String>,
}

impl Membership {
    /// Only the groups and roles in `wanted` (the ones policies name).
    pub fn restricted(&self, wanted: &dyn Fn(&str) -> bool) -> Membership {
        Membership {
            groups: self.groups.iter().filter(|g| wanted(g)).cloned().collect(),
            roles: self.roles.iter().filter(|r| wanted(r)).cloned().collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.groups.is_empty() && self.roles.is_empty()
    }
}

/// The memberships of the directory's users, by user key.
#[derive(Debug, Default)]
pub struct Directory {
    by_key: HashMap<u64, usize>,
    members: Vec<Membership>,
    /// Users read, and user objects without a UPN or an id (skipped).
    pub users: usize,
    pub skipped: usize,
}

impl Directory {
    /// Reads a Graph users export. Anything else is refused, naming what the file holds.
    pub fn load(path: &Path) -> Result<Directory, InputError> {
        let text = read_text(path)?;
        let mut dir = Directory::default();
        let mut values = Vec::new();
        for v in serde_json::Deserializer::from_str(&text).into_iter::<Value>() {
            match v {
                Ok(v) => values.push(v),
                Err(e) => {
                    return Err(InputError::new(
                        path,
                        format!(
                            "is not a Microsoft Graph users export (JSON from GET /users?$expand=memberOf): line {}: {e}",
                            e.line()
                        ),
                    )
                    .field("--directory"))
                }
            }
        }
        for v in values {
            match v {
                Value::Array(users) => users.iter().for_each(|u| dir.add(u)),
                Value::Object(ref o) if o.get("value").is_some_and(Value::is_array) => {
                    if let Some(Value::Array(users)) = o.get("value") {
                        users.iter().for_each(|u| dir.add(u));
                    }
                }
                Value::Object(_) => dir.add(&v),
                _ => {}
            }
        }
        if dir.users == 0 {
            return Err(InputError::new(
                path,
                "holds no user with a userPrincipalName or an id: expected Microsoft Graph's GET /users?$expand=memberOf output (a list page, an array of users, or one user per line)",
            )
            .field("--directory"));
        }
        Ok(dir)
    }

    fn add(&mut self, user: &Value) {
        let Some(o) = user.as_object() else {
            return;
        };
        let text = |k: &str| {
            o.get(k)
                .and_then(Value::as_str)
                .filter(|s| !s.trim().is_empty())
        };
        let (upn, id) = (text("userPrincipalName"), text("id"));
        if upn.is_none() && id.is_none() {
            self.skipped += 1;
            return;
        }
        let mut m = Membership::default();
        for entry in o
            .get("memberOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let kind = entry
                .get("@odata.type")
                .and_then(Value::as_str)
                .unwrap_or("");
            let id = |k: &str| entry.get(k).and_then(Value::as_str).map(str::to_string);
            match kind {
                "#microsoft.graph.group" => m.groups.extend(id("id")),
                "#microsoft.graph.directoryRole" => {
                    m.roles.extend(id("roleTemplateId").or_else(|| id("id")))
                }
                _ => {}
            }
        }
        m.groups.sort();
        m.groups.dedup();
        m.roles.sort();
        m.roles.dedup();
        let i = self.members.len();
        self.members.push(m);
        self.users += 1;
        // The logs key a user by the UPN, else the object id: either finds them.
        for key in [upn, id].into_iter().flatten() {
            self.by_key.insert(user_key(key), i);
        }
    }

    /// The memberships of the user with this sign-in log key, if the directory has them.
    pub fn of(&self, key: u64) -> Option<&Membership> {
        self.by_key.get(&key).map(|&i| &self.members[i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<Directory, InputError> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("users.json");
        std::fs::write(&p, text).unwrap();
        Directory::load(&p)
    }

    const ADMIN: &str = r##"{"id":"u1","userPrincipalName":"Admin@Contoso.example","displayName":"Ada","memberOf":[
        {"@odata.type":"#microsoft.graph.directoryRole","id":"r-obj","roleTemplateId":"62e90394-69f5-4237-9190-012177145e10","displayName":"Global Administrator"},
        {"@odata.type":"#microsoft.graph.group","id":"g1","displayName":"Admins"},
        {"@odata.type":"#microsoft.graph.administrativeUnit","id":"au1"}]}"##;

    #[test]
    fn pages_arrays_and_lines_read_alike() {
        let page = format!(
            r#"{{"@odata.context":"x","value":[{ADMIN},{{"id":"u2","userPrincipalName":"b@contoso.example"}}],"@odata.nextLink":"y"}}"#
        );
        let array =
            format!("[{ADMIN},{{\"id\":\"u2\",\"userPrincipalName\":\"b@contoso.example\"}}]");
        let lines =
            format!("{ADMIN}\n{{\"id\":\"u2\",\"userPrincipalName\":\"b@contoso.example\"}}\n");
        for text in [page, array, lines] {
            let d = load(&text).unwrap();
            assert_eq!(d.users, 2);
            // Found by the UPN (any case) or by the object id, as the log readers key users.
            let m = d.of(user_key("admin@contoso.example")).unwrap();
            assert_eq!(m.roles, ["62e90394-69f5-4237-9190-012177145e10"]);
            assert_eq!(m.groups, ["g1"]);
            assert_eq!(d.of(user_key("u1")), Some(m));
            assert!(d.of(user_key("b@contoso.example")).unwrap().is_empty());
        }
    }

    #[test]
    fn a_file_of_another_kind_is_refused_naming_what_is_expected() {
        let e = load("name = \"x\"\n").unwrap_err().to_string();
        assert!(e.contains("is not a Microsoft Graph users export"), "{e}");
        let e = load(r#"{"value":[{"displayName":"no ids"}]}"#)
            .unwrap_err()
            .to_string();
        assert!(e.contains("no user"), "{e}");
    }
}
