//! Who a grant or share reaches, relative to the record's account: the
//! accounts the user trusts, and the classes of reach the facts report.

use std::collections::BTreeSet;

use crate::error::{Error, ErrorKind, Result};

/// Accounts and organizations the user trusts besides each record's own
/// account (their organization, its other accounts, a vendor they grant on
/// purpose). Sharing with or granting to them is not "outside"; a grant
/// narrowed to an organization that is not listed here is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trusted {
    accounts: BTreeSet<String>,
}

impl Trusted {
    /// Twelve-digit account ids and organization ids (`o-` and 10 to 32
    /// lower-case letters or digits); anything else is refused with its text.
    pub fn new<I: IntoIterator<Item = S>, S: AsRef<str>>(accounts: I) -> Result<Trusted> {
        let mut set = BTreeSet::new();
        for account in accounts {
            let account = account.as_ref().trim();
            if account.is_empty() {
                continue;
            }
            if !is_account_id(account) && !is_org_id(account) {
                return Err(Error::new(ErrorKind::Rule(format!(
                    "trusted account {account:?} is neither a 12-digit AWS account id nor an organization id (o-...)"
                ))));
            }
            set.insert(account.to_string());
        }
        Ok(Trusted { accounts: set })
    }

    /// A comma- or space-separated list (environment variables, CLI flags).
    pub fn parse_list(text: &str) -> Result<Trusted> {
        Trusted::new(text.split([',', ' ', '\n']))
    }

    pub fn contains(&self, account: &str) -> bool {
        self.accounts.contains(account)
    }

    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    pub fn accounts(&self) -> impl Iterator<Item = &str> {
        self.accounts.iter().map(String::as_str)
    }

    /// Adds another list's accounts.
    pub fn extend(&mut self, other: &Trusted) {
        self.accounts.extend(other.accounts.iter().cloned());
    }
}

pub(crate) fn is_account_id(text: &str) -> bool {
    text.len() == 12 && text.bytes().all(|b| b.is_ascii_digit())
}

/// `o-` and 10 to 32 lower-case letters or digits, as AWS Organizations writes them.
pub(crate) fn is_org_id(text: &str) -> bool {
    text.strip_prefix("o-").is_some_and(|rest| {
        (10..=32).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    })
}

/// Who a grant or share reaches, relative to the record's account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reach {
    /// Anyone (`*`, `all`, AllUsers), with no condition narrowing it.
    Public,
    /// Anyone, but a condition narrows it to the record's or trusted
    /// accounts or organizations, a VPC, an endpoint or source addresses.
    PublicRestricted,
    /// An account or organization that is neither the record's nor trusted:
    /// named as the principal, or the one a condition narrows `*` to.
    Outside,
    Trusted,
    OwnAccount,
    /// An AWS service principal.
    Service,
    /// A SAML or web-identity provider.
    Federated,
}

impl Reach {
    pub fn as_str(self) -> &'static str {
        match self {
            Reach::Public => "public",
            Reach::PublicRestricted => "public-restricted",
            Reach::Outside => "outside-account",
            Reach::Trusted => "trusted-account",
            Reach::OwnAccount => "own-account",
            Reach::Service => "service",
            Reach::Federated => "federated",
        }
    }

    /// The reach of an account (or organization) principal. Conditions
    /// never hide an outside account: they narrow where from, not who.
    pub(crate) fn of_account(account: &str, own: Option<&str>, trusted: &Trusted) -> Reach {
        if Some(account) == own {
            Reach::OwnAccount
        } else if trusted.contains(account) {
            Reach::Trusted
        } else {
            Reach::Outside
        }
    }
}
