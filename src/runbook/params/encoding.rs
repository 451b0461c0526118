//! Action parameters compared, written and read: as the `with:` mapping they come from, the
//! action saying which parameters they are.

use std::hash::Hash;

use serde::{Deserialize, Serialize, Serializer};

use super::{ActionParams, Rendered, SetEndpointWeights, SetRecordWeights, Text};
use crate::runbook::catalogue::ActionKind;

impl<T: PartialEq + Eq + Hash> PartialEq for ActionParams<T> {
    fn eq(&self, other: &Self) -> bool {
        use ActionParams as P;
        match (self, other) {
            (P::StartInstances(a), P::StartInstances(b)) => a == b,
            (P::LaunchFromAmi(a), P::LaunchFromAmi(b)) => a == b,
            (P::RestoreVolume(a), P::RestoreVolume(b)) => a == b,
            (P::AttachVolume(a), P::AttachVolume(b)) => a == b,
            (P::RdsRestoreSnapshot(a), P::RdsRestoreSnapshot(b)) => a == b,
            (P::RdsRestorePointInTime(a), P::RdsRestorePointInTime(b)) => a == b,
            (P::RdsPromoteReplica(a), P::RdsPromoteReplica(b)) => a == b,
            (P::DynamodbRestorePointInTime(a), P::DynamodbRestorePointInTime(b)) => a == b,
            (P::DynamodbRestoreBackup(a), P::DynamodbRestoreBackup(b)) => a == b,
            (P::BackupStartRestore(a), P::BackupStartRestore(b)) => a == b,
            (P::SetTrafficDial(a), P::SetTrafficDial(b)) => a == b,
            (P::SetEndpointWeights(a), P::SetEndpointWeights(b)) => a == b,
            (P::SetRecordWeights(a), P::SetRecordWeights(b)) => a == b,
            (P::UpsertRecord(a), P::UpsertRecord(b)) => a == b,
            (P::RedshiftRestoreSnapshot(a), P::RedshiftRestoreSnapshot(b)) => a == b,
            (P::CloudformationDeploy(a), P::CloudformationDeploy(b)) => a == b,
            (P::SnsPublish(a), P::SnsPublish(b)) => a == b,
            _ => false,
        }
    }
}

impl<T: Serialize + Eq + Hash> Serialize for ActionParams<T> {
    /// As the `with:` mapping it came from (the action says which parameters these are).
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ActionParams::StartInstances(p) => p.serialize(s),
            ActionParams::LaunchFromAmi(p) => p.serialize(s),
            ActionParams::RestoreVolume(p) => p.serialize(s),
            ActionParams::AttachVolume(p) => p.serialize(s),
            ActionParams::RdsRestoreSnapshot(p) => p.serialize(s),
            ActionParams::RdsRestorePointInTime(p) => p.serialize(s),
            ActionParams::RdsPromoteReplica(p) => p.serialize(s),
            ActionParams::DynamodbRestorePointInTime(p) => p.serialize(s),
            ActionParams::DynamodbRestoreBackup(p) => p.serialize(s),
            ActionParams::BackupStartRestore(p) => p.serialize(s),
            ActionParams::SetTrafficDial(p) => p.serialize(s),
            ActionParams::SetEndpointWeights(p) => p.serialize(s),
            ActionParams::SetRecordWeights(p) => p.serialize(s),
            ActionParams::UpsertRecord(p) => p.serialize(s),
            ActionParams::RedshiftRestoreSnapshot(p) => p.serialize(s),
            ActionParams::CloudformationDeploy(p) => p.serialize(s),
            ActionParams::SnsPublish(p) => p.serialize(s),
        }
    }
}

impl<T: Text + Eq + Hash + serde::de::DeserializeOwned> ActionParams<T> {
    /// Reads the parameters of `action` from `d` (a runbook's `with:`, an intent's plan).
    pub fn parse<'de, D: serde::Deserializer<'de>>(
        action: ActionKind,
        d: D,
    ) -> Result<ActionParams<T>, D::Error> {
        use ActionParams as P;
        use Deserialize as De;
        Ok(match action {
            ActionKind::Ec2StartInstances => P::StartInstances(De::deserialize(d)?),
            ActionKind::Ec2LaunchFromAmi => P::LaunchFromAmi(De::deserialize(d)?),
            ActionKind::EbsRestoreVolume => P::RestoreVolume(De::deserialize(d)?),
            ActionKind::EbsAttachVolume => P::AttachVolume(De::deserialize(d)?),
            ActionKind::RdsRestoreSnapshot => P::RdsRestoreSnapshot(De::deserialize(d)?),
            ActionKind::RdsRestorePointInTime => P::RdsRestorePointInTime(De::deserialize(d)?),
            ActionKind::RdsPromoteReplica => P::RdsPromoteReplica(De::deserialize(d)?),
            ActionKind::DynamodbRestorePointInTime => {
                P::DynamodbRestorePointInTime(De::deserialize(d)?)
            }
            ActionKind::DynamodbRestoreBackup => P::DynamodbRestoreBackup(De::deserialize(d)?),
            ActionKind::BackupStartRestore => P::BackupStartRestore(De::deserialize(d)?),
            ActionKind::GaSetTrafficDial => P::SetTrafficDial(De::deserialize(d)?),
            ActionKind::GaSetEndpointWeights => P::SetEndpointWeights(De::deserialize(d)?),
            ActionKind::Route53SetWeights => P::SetRecordWeights(De::deserialize(d)?),
            ActionKind::Route53UpsertRecord => P::UpsertRecord(De::deserialize(d)?),
            ActionKind::RedshiftRestoreSnapshot => P::RedshiftRestoreSnapshot(De::deserialize(d)?),
            ActionKind::CloudformationDeploy => P::CloudformationDeploy(De::deserialize(d)?),
            ActionKind::SnsPublish => P::SnsPublish(De::deserialize(d)?),
        })
    }
}

impl Rendered {
    /// Reads rendered parameters of `action` (as an intent record holds them).
    pub fn from_json(
        action: ActionKind,
        value: serde_json::Value,
    ) -> Result<Rendered, serde_json::Error> {
        Rendered::parse(action, value)
    }

    /// The parameters as the `with:` mapping of JSON they render to.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

impl<T: Eq + Hash> PartialEq for SetEndpointWeights<T> {
    fn eq(&self, other: &Self) -> bool {
        self.endpoint_group_region == other.endpoint_group_region
            && self.weights == other.weights
            && self.listener == other.listener
    }
}

impl<T: Eq + Hash> PartialEq for SetRecordWeights<T> {
    fn eq(&self, other: &Self) -> bool {
        self.weights == other.weights
    }
}
