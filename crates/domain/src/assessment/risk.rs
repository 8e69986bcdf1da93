//! The therapist's open risk flags across the caseload: one small sealed
//! document per account, kept in step with every result that raises or
//! clears a flag (in the result's own transaction), so the home page and
//! the client list show them without opening every result.

use serde::{Deserialize, Serialize};
use time::Date;

use super::{IndexedResult, RiskState};
use crate::ids::{ClientId, RecordId};
use crate::record::iso_date;

/// A result whose risk flags nobody has acknowledged yet.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenRiskFlag {
    pub client: ClientId,
    pub result: RecordId,
    pub instrument: String,
    #[serde(with = "iso_date::required")]
    pub taken_on: Date,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenRiskFlags {
    pub flags: Vec<OpenRiskFlag>,
}

impl OpenRiskFlags {
    /// The sealed document's kind (part of its sealing context).
    pub const KIND: &'static str = "risk_flags";

    /// Brings the list in step with a result as now saved; true when it
    /// changed.
    pub fn put(&mut self, client: ClientId, result: &IndexedResult) -> bool {
        let before = self.flags.len();
        self.flags.retain(|f| f.result != result.id);
        let removed = self.flags.len() != before;
        if result.risk == RiskState::Open {
            self.flags.push(OpenRiskFlag {
                client,
                result: result.id,
                instrument: result.instrument.clone(),
                taken_on: result.taken_on,
            });
            return true;
        }
        removed
    }

    /// Newest first.
    pub fn newest_first(&self) -> Vec<OpenRiskFlag> {
        let mut flags = self.flags.clone();
        flags.sort_by_key(|f| std::cmp::Reverse(f.taken_on));
        flags
    }
}

impl zeroize::Zeroize for OpenRiskFlags {
    fn zeroize(&mut self) {
        for f in &mut self.flags {
            f.instrument.zeroize();
        }
        self.flags.clear();
    }
}

#[cfg(test)]
mod tests {
    use time::macros::date;

    use super::*;
    use crate::assessment::IndexedPoints;

    fn result(id: RecordId, risk: RiskState) -> IndexedResult {
        IndexedResult {
            id,
            instrument: "phq-9".into(),
            version: 1,
            taken_on: date!(2026 - 12 - 01),
            points: vec![IndexedPoints { scale: "total".into(), points: Some(12), band: Some("Moderate".into()) }],
            risk,
        }
    }

    #[test]
    fn a_flag_is_listed_while_open_and_leaves_when_acknowledged() {
        let (client, id) = (ClientId::new(), RecordId::new());
        let mut list = OpenRiskFlags::default();
        assert!(!list.put(client, &result(id, RiskState::None)), "nothing to list");
        assert!(list.put(client, &result(id, RiskState::Open)));
        assert!(list.put(client, &result(id, RiskState::Open)), "a new version replaces the entry");
        assert_eq!(list.flags.len(), 1);
        assert_eq!((list.flags[0].client, list.flags[0].result), (client, id));
        assert!(list.put(client, &result(id, RiskState::Acknowledged)));
        assert!(list.flags.is_empty());
        assert!(!list.put(client, &result(id, RiskState::Acknowledged)), "already gone: no write needed");
    }
}
