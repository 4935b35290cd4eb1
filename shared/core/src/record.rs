//! The key facts of a CloudTrail record that findings and statistics use,
//! read from the values the extractor pulled (borrowed, no copies).

use crate::extract::{PathTable, Scalar, Values};
use crate::selector::Step;

/// A field of a CloudTrail record the engine always extracts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fact {
    EventId,
    EventTime,
    EventName,
    EventSource,
    EventType,
    Region,
    RecipientAccount,
    IdentityType,
    IdentityArn,
    IdentityAccount,
    PrincipalId,
    UserName,
    InvokedBy,
    IssuerArn,
    SourceIp,
    UserAgent,
    ErrorCode,
    ErrorMessage,
    MfaUsed,
    ConsoleLogin,
    ReadOnly,
    RequestParameters,
    ResponseElements,
}

const FACTS: [(Fact, &str); 23] = [
    (Fact::EventId, "eventID"),
    (Fact::EventTime, "eventTime"),
    (Fact::EventName, "eventName"),
    (Fact::EventSource, "eventSource"),
    (Fact::EventType, "eventType"),
    (Fact::Region, "awsRegion"),
    (Fact::RecipientAccount, "recipientAccountId"),
    (Fact::IdentityType, "userIdentity.type"),
    (Fact::IdentityArn, "userIdentity.arn"),
    (Fact::IdentityAccount, "userIdentity.accountId"),
    (Fact::PrincipalId, "userIdentity.principalId"),
    (Fact::UserName, "userIdentity.userName"),
    (Fact::InvokedBy, "userIdentity.invokedBy"),
    (Fact::IssuerArn, "userIdentity.sessionContext.sessionIssuer.arn"),
    (Fact::SourceIp, "sourceIPAddress"),
    (Fact::UserAgent, "userAgent"),
    (Fact::ErrorCode, "errorCode"),
    (Fact::ErrorMessage, "errorMessage"),
    (Fact::MfaUsed, "additionalEventData.MFAUsed"),
    (Fact::ConsoleLogin, "responseElements.ConsoleLogin"),
    (Fact::ReadOnly, "readOnly"),
    (Fact::RequestParameters, "requestParameters"),
    (Fact::ResponseElements, "responseElements"),
];

/// Where each [`Fact`] lives in a [`PathTable`].
#[derive(Debug, Clone)]
pub struct FactSlots([usize; FACTS.len()]);

impl FactSlots {
    /// Interns every fact's selector into `table`.
    pub fn register(table: &mut PathTable) -> Self {
        FactSlots(FACTS.map(|(_, path)| {
            let steps: Vec<Step> = path.split('.').map(|k| Step::Key(k.to_string())).collect();
            table.intern(&steps)
        }))
    }

    /// The slot the fact's values are extracted into.
    pub fn slot(&self, fact: Fact) -> usize {
        self.0[fact as usize]
    }
}

/// One record's facts, as views into its extracted values.
#[derive(Clone, Copy)]
pub struct RecordFacts<'v, 'a> {
    values: &'v Values<'a>,
    slots: &'v FactSlots,
}

impl<'v, 'a> RecordFacts<'v, 'a> {
    pub fn new(values: &'v Values<'a>, slots: &'v FactSlots) -> Self {
        RecordFacts { values, slots }
    }

    /// The fact's string value, if present and a string.
    /// Empty strings count as absent (CloudTrail writes `"principalId": ""`
    /// for anonymous callers).
    pub fn get(&self, fact: Fact) -> Option<&'v str> {
        match self.values.get(self.slots.slot(fact)).first() {
            Some(Scalar::Str(s)) if !s.is_empty() => Some(s),
            _ => None,
        }
    }

    /// Every value the fact's selector reached.
    pub fn values(&self, fact: Fact) -> &'v [Scalar<'a>] {
        self.values.get(self.slots.slot(fact))
    }

    /// The JSON text of the fact when it is an object or array, if the
    /// extractor kept it (see [`Values::raw`]).
    pub fn raw(&self, fact: Fact) -> Option<&'a str> {
        self.values.raw(self.slots.slot(fact))
    }

    /// `readOnly`: CloudTrail writes a boolean; some tools write a string.
    pub fn read_only(&self) -> Option<bool> {
        match self.values.get(self.slots.slot(Fact::ReadOnly)).first() {
            Some(Scalar::Bool(b)) => Some(*b),
            Some(Scalar::Str(s)) => s.parse().ok(),
            _ => None,
        }
    }

    /// The account the event belongs to.
    pub fn account_id(&self) -> Option<&'v str> {
        self.get(Fact::RecipientAccount).or_else(|| self.get(Fact::IdentityAccount))
    }

    /// Who acted: the identity's ARN, else the service that acted, else its
    /// principal ID, user name or account (`ANONYMOUS_PRINCIPAL` for
    /// unauthenticated S3 requests).
    pub fn principal(&self) -> Option<&'v str> {
        self.get(Fact::IdentityArn)
            .or_else(|| self.get(Fact::InvokedBy))
            .or_else(|| self.get(Fact::PrincipalId))
            .or_else(|| self.get(Fact::UserName))
            .or_else(|| self.get(Fact::IdentityAccount))
    }

    /// The identity type, or `AWSService` for service events that carry only
    /// `invokedBy`.
    pub fn principal_type(&self) -> Option<&'v str> {
        self.get(Fact::IdentityType).or_else(|| self.get(Fact::InvokedBy).map(|_| "AWSService"))
    }

    /// True when the call failed: an errorCode, or a console login whose
    /// response says Failure.
    pub fn failed(&self) -> bool {
        self.get(Fact::ErrorCode).is_some() || self.get(Fact::ConsoleLogin) == Some("Failure")
    }

    /// Root acting itself: not an AWS service acting on its behalf, not a
    /// service event (the CIS root-usage conditions).
    pub fn is_root(&self) -> bool {
        self.get(Fact::IdentityType) == Some("Root")
            && self.get(Fact::InvokedBy).is_none()
            && self.get(Fact::EventType) != Some("AwsServiceEvent")
    }

    /// A person rather than a workload: IAM users, root, Identity Center
    /// users and roles assumed through Identity Center (`AWSReservedSSO_`).
    pub fn is_human(&self) -> bool {
        match self.get(Fact::IdentityType) {
            Some("IAMUser" | "Root" | "IdentityCenterUser") => self.get(Fact::InvokedBy).is_none(),
            Some("AssumedRole") => self.get(Fact::IssuerArn).is_some_and(|arn| arn.contains("/AWSReservedSSO_")),
            _ => false,
        }
    }
}
