//! Rendering a runbook's action parameters for a run: every step output filled in.

use indexmap::IndexMap;

use super::*;
use crate::runbook::template::Ref;

/// Fills in step outputs: what a runbook's text becomes for a run.
pub type Fill<'a> = &'a dyn Fn(&Template) -> Result<String, Ref>;

trait FillIn {
    type Out;
    fn fill_in(&self, fill: Fill) -> Result<Self::Out, Ref>;
}

impl FillIn for Template {
    type Out = String;
    fn fill_in(&self, fill: Fill) -> Result<String, Ref> {
        fill(self)
    }
}

impl<X: FillIn> FillIn for Option<X> {
    type Out = Option<X::Out>;
    fn fill_in(&self, fill: Fill) -> Result<Self::Out, Ref> {
        self.as_ref().map(|x| x.fill_in(fill)).transpose()
    }
}

impl<X: FillIn> FillIn for Vec<X> {
    type Out = Vec<X::Out>;
    fn fill_in(&self, fill: Fill) -> Result<Self::Out, Ref> {
        self.iter().map(|x| x.fill_in(fill)).collect()
    }
}

impl FillIn for Source {
    type Out = Source<String>;
    fn fill_in(&self, fill: Fill) -> Result<Self::Out, Ref> {
        Ok(match self {
            Source::Latest => Source::Latest,
            Source::Named(t) => Source::Named(fill(t)?),
        })
    }
}

impl FillIn for IndexMap<String, Template> {
    type Out = IndexMap<String, String>;
    fn fill_in(&self, fill: Fill) -> Result<Self::Out, Ref> {
        self.iter()
            .map(|(k, v)| Ok((k.clone(), fill(v)?)))
            .collect()
    }
}

impl FillIn for IndexMap<Template, u8> {
    type Out = IndexMap<String, u8>;
    fn fill_in(&self, fill: Fill) -> Result<Self::Out, Ref> {
        self.iter().map(|(k, v)| Ok((fill(k)?, *v))).collect()
    }
}

/// `FillIn` for a parameter struct: the listed text fields are filled in, the others copied.
macro_rules! fill_in {
    ($name:ident { $($text:ident),* } { $($copy:ident),* }) => {
        impl FillIn for $name {
            type Out = $name<String>;
            fn fill_in(&self, fill: Fill) -> Result<Self::Out, Ref> {
                Ok($name {
                    $($text: self.$text.fill_in(fill)?,)*
                    $($copy: self.$copy.clone(),)*
                })
            }
        }
    };
}

fill_in!(LaunchFromAmi { region, ami, instance_type, subnet_id, security_group_ids, key_name, iam_instance_profile, name } { ami_name });
fill_in!(RestoreVolume { region, snapshot, availability_zone, volume_type } {});
fill_in!(AttachVolume { region, volume_id, instance_id, device } {});
fill_in!(RdsRestoreSnapshot { region, snapshot, target_id, instance_class, subnet_group, security_groups, parameter_group, option_group } { multi_az, deletion_protection, copy_tags });
fill_in!(RdsRestorePointInTime { region, target_id, instance_class, subnet_group, security_groups, parameter_group, option_group } { restore_time, multi_az, deletion_protection, copy_tags });
fill_in!(RdsPromoteReplica { region, replica_id } {});
fill_in!(DynamodbRestorePointInTime { region, target_table } { restore_time });
fill_in!(DynamodbRestoreBackup { region, backup, target_table } {});
fill_in!(BackupStartRestore { region, recovery_point, iam_role_arn, metadata } {});
fill_in!(SetTrafficDial { endpoint_group_region, listener } { dial });
fill_in!(SetEndpointWeights { endpoint_group_region, weights, listener } {});
fill_in!(SetRecordWeights { weights } {});
fill_in!(UpsertRecord { values, set_identifier } { ttl, weight });
fill_in!(RedshiftRestoreSnapshot { region, snapshot, target_id, node_type, subnet_group, security_groups, availability_zone, kms_key_id } {});
fill_in!(CloudformationDeploy { region, stack_name, parameters } { template, capabilities });
fill_in!(SnsPublish { subject, message, message_group_id } {});

impl ActionParams {
    /// The parameters with every step output filled in by `fill`; the error names the first
    /// reference that cannot be filled.
    pub fn render(&self, fill: Fill) -> Result<Rendered, Ref> {
        use ActionParams as P;
        Ok(match self {
            P::StartInstances(p) => P::StartInstances(p.clone()),
            P::LaunchFromAmi(p) => P::LaunchFromAmi(p.fill_in(fill)?),
            P::RestoreVolume(p) => P::RestoreVolume(p.fill_in(fill)?),
            P::AttachVolume(p) => P::AttachVolume(p.fill_in(fill)?),
            P::RdsRestoreSnapshot(p) => P::RdsRestoreSnapshot(p.fill_in(fill)?),
            P::RdsRestorePointInTime(p) => P::RdsRestorePointInTime(p.fill_in(fill)?),
            P::RdsPromoteReplica(p) => P::RdsPromoteReplica(p.fill_in(fill)?),
            P::DynamodbRestorePointInTime(p) => P::DynamodbRestorePointInTime(p.fill_in(fill)?),
            P::DynamodbRestoreBackup(p) => P::DynamodbRestoreBackup(p.fill_in(fill)?),
            P::BackupStartRestore(p) => P::BackupStartRestore(p.fill_in(fill)?),
            P::SetTrafficDial(p) => P::SetTrafficDial(p.fill_in(fill)?),
            P::SetEndpointWeights(p) => P::SetEndpointWeights(p.fill_in(fill)?),
            P::SetRecordWeights(p) => P::SetRecordWeights(p.fill_in(fill)?),
            P::UpsertRecord(p) => P::UpsertRecord(p.fill_in(fill)?),
            P::RedshiftRestoreSnapshot(p) => P::RedshiftRestoreSnapshot(p.fill_in(fill)?),
            P::CloudformationDeploy(p) => P::CloudformationDeploy(p.fill_in(fill)?),
            P::SnsPublish(p) => P::SnsPublish(p.fill_in(fill)?),
        })
    }
}
